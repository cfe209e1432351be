/**
 * Tests that run a command as another user (nobody, through setpriv, when they run as root) need the
 * checkout readable by that user. A clone under a 0700 directory (what `mktemp -d` makes) is not:
 * such tests skip, saying why, instead of failing on MODULE_NOT_FOUND.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { BIN } from './fixture.js';

export const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
export const NOBODY = 65534;

/** Why nobody cannot run our commands from this checkout, or false when it can (or setpriv is absent). */
export function checkoutUnreadableByNobody(): string | false {
  if (process.getuid?.() !== 0 || SETPRIV === undefined) return false;
  const res = spawnSync(SETPRIV, [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'test', '-r', BIN.pull], { stdio: 'ignore' });
  return res.status === 0 ? false : `${BIN.pull} is not readable by uid ${NOBODY} (a 0700 directory above the checkout, as mktemp -d makes): the commands cannot run as another user here`;
}
