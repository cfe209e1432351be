/**
 * Who may run on a toplevel, each excluded by an fcntl lock (shared/lock.ts; the kernel drops it
 * however the holder dies) on a file in the toplevel, with the holder's pid written beside it for a
 * refusal to name. No name here ends in `.lock`, so no repository's lock file (`.<name>.lock`) can be
 * one of them.
 *
 * - One grok-pull -o per toplevel: a second daemon on the same config (a unit started twice, a shell
 *   run beside the service) would fetch every repository twice and log each clone twice.
 * - One pass at a time: two one-shot passes (a hand run beside the timer's, two cron lines) would
 *   both clone every new repository, each logging `cloned`, and report summaries that disagree. A
 *   one-shot that finds a pass running says so and does nothing; the daemon waits for the lock
 *   before each of its passes, so a one-shot run beside it goes between them.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GrokError } from '../shared/errors.js';
import { removeStaleTemps } from '../shared/fs/atomic.js';
import { acquireLock, isLockBusy, type HeldLock } from '../shared/lock.js';
import { PASS_RECORD } from './pass-record.js';

export const DAEMON_LOCK = '.grok-pull-daemon.lck';
export const DAEMON_PID = '.grok-pull-daemon.pid';
export const PASS_LOCK = '.grok-pull-pass.lck';
export const PASS_PID = '.grok-pull-pass.pid';

/** The lock `lockName` with our pid in `pidName`; when busy, the holder's pid (null if unknown). */
async function holdWithPid(toplevel: string, lockName: string, pidName: string, pid: number, wait: boolean, signal?: AbortSignal): Promise<HeldLock | { busy: number | null }> {
  mkdirSync(toplevel, { recursive: true });
  const pidFile = path.join(toplevel, pidName);
  let held: HeldLock;
  try {
    held = await acquireLock(path.join(toplevel, lockName), wait ? (signal ? { signal } : {}) : { timeoutMs: 0 });
  } catch (err) {
    if (!isLockBusy(err)) throw err;
    let other = '';
    try {
      other = readFileSync(pidFile, 'utf8').trim();
    } catch {
      // written just after the lock is taken: a holder starting this instant has none yet
    }
    return { busy: /^\d+$/.test(other) ? Number(other) : null };
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

export async function holdDaemonLock(toplevel: string, pid = process.pid): Promise<HeldLock> {
  const held = await holdWithPid(toplevel, DAEMON_LOCK, DAEMON_PID, pid, false);
  if (!('busy' in held)) return held;
  const which = held.busy !== null ? `pid ${held.busy}` : 'pid unknown';
  throw new GrokError('GROK_ERR_ALREADY_RUNNING', `grok-pull -o is already running for toplevel ${toplevel}, ${which}`, { toplevel, ...(held.busy !== null ? { pid: held.busy } : {}) });
}

/**
 * The pass lock: tried once (a one-shot: `busy` names the running pass's pid, null if unknown), or
 * waited for (the daemon) until `signal` aborts (GROK_ERR_STOPPED): a daemon told to stop while a
 * long one-shot pass runs stops at once rather than when that pass ends.
 */
export async function holdPassLock(toplevel: string, opts: { readonly wait: boolean; readonly pid?: number; readonly signal?: AbortSignal }): Promise<HeldLock | { busy: number | null }> {
  const held = await holdWithPid(toplevel, PASS_LOCK, PASS_PID, opts.pid ?? process.pid, opts.wait, opts.signal);
  // Only passes write the pass record, under this lock: a temp file of it is a killed pass's.
  if (!('busy' in held)) await removeStaleTemps(path.join(toplevel, PASS_RECORD));
  return held;
}

/** Runs `fn` holding the pass lock, waiting for it first until `signal` aborts (the daemon's passes). */
export async function withPassLock<T>(toplevel: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const held = await holdPassLock(toplevel, signal ? { wait: true, signal } : { wait: true });
  if ('busy' in held) throw new GrokError('GROK_ERR_LOCK', `cannot lock ${path.join(toplevel, PASS_LOCK)}`);
  try {
    return await fn();
  } finally {
    await held.release();
  }
}

/** The pid of a live grok-pull -o on this toplevel, read without taking or making anything; null if none. */
export function runningDaemon(toplevel: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(toplevel, DAEMON_PID), 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    // EPERM: alive, another user's; ESRCH: a pid file a kill -9 left
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}
