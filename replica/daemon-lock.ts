/**
 * One grok-pull -o per toplevel: a second daemon on the same config (a unit started twice, a shell
 * run beside the service) would fetch every repository twice and log each clone twice. The daemon
 * holds an fcntl lock (shared/lock.ts; the kernel drops it however the daemon dies) on a file in the
 * toplevel, and writes its pid beside it for the refusal to name. Neither name ends in `.lock`, so no
 * repository's lock file (`.<name>.lock`) can be either. One-shot passes are not excluded: they take
 * the manifest's and the repositories' locks as grokmirror's do.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GrokError } from '../shared/errors.js';
import { acquireLock, isLockBusy, type HeldLock } from '../shared/lock.js';

export const DAEMON_LOCK = '.grok-pull-daemon.lck';
export const DAEMON_PID = '.grok-pull-daemon.pid';

export async function holdDaemonLock(toplevel: string, pid = process.pid): Promise<HeldLock> {
  mkdirSync(toplevel, { recursive: true });
  const pidFile = path.join(toplevel, DAEMON_PID);
  let held: HeldLock;
  try {
    held = await acquireLock(path.join(toplevel, DAEMON_LOCK), { timeoutMs: 0 });
  } catch (err) {
    if (!isLockBusy(err)) throw err;
    let other = '';
    try {
      other = readFileSync(pidFile, 'utf8').trim();
    } catch {
      // written just after the lock is taken: a daemon starting this instant has none yet
    }
    const which = /^\d+$/.test(other) ? `pid ${other}` : 'pid unknown';
    throw new GrokError('GROK_ERR_ALREADY_RUNNING', `grok-pull -o is already running for toplevel ${toplevel}, ${which}`, { toplevel, ...(which !== 'pid unknown' ? { pid: Number(other) } : {}) });
  }
  writeFileSync(pidFile, `${pid}\n`);
  return {
    path: held.path,
    async release() {
      rmSync(pidFile, { force: true });
      await held.release();
    },
  };
}
