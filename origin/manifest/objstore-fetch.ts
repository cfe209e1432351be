/**
 * grok-manifest -o: after a push, pull the new objects of a member into its objstore right away
 * (`git fetch <virtref> --prune` in the objstore), so forks pushing the same objects find them shared.
 * Skipped when the objstore is busy (grok-fsck holds its lock while repacking); fsck fetches later.
 */
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { isGrokError } from '../../shared/errors.js';
import { Git, untrusted } from '../../shared/git/index.js';
import { acquireLock, lockPathFor } from '../../shared/lock.js';
import type { Logger } from '../../shared/log.js';
import { virtrefFor } from '../../shared/objstore/virtref.js';
import { FINGERPRINT_FILE } from '../../shared/repo/fingerprint-file.js';

export async function fetchIntoObjstore(git: Git, log: Logger, member: string, objstore: string): Promise<'fetched' | 'not-a-member' | 'busy'> {
  const virtref = virtrefFor(member);
  const url = await git.run({ gitDir: objstore, args: ['config', '--get', `remote.${virtref}.url`], okExit: [1] });
  if (url.exitCode !== 0) return 'not-a-member';
  let held;
  try {
    held = await acquireLock(lockPathFor(objstore), { timeoutMs: 0 });
  } catch (err) {
    if (isGrokError(err, 'GROK_ERR_LOCK')) return 'busy';
    throw err;
  }
  try {
    await git.run({ gitDir: objstore, args: ['fetch', untrusted(virtref), '--prune'] });
    await copyFile(path.join(member, FINGERPRINT_FILE), path.join(objstore, `grokmirror.${virtref}.fingerprint`)).catch(() => {});
    log.info({ repo: member, action: 'objstore-fetch', objstore }, `fetched ${member} into ${path.basename(objstore)}`);
    return 'fetched';
  } finally {
    await held.release();
  }
}
