/**
 * Exclusive locks shared by all our commands and compatible with grokmirror's: the lock file is
 * `.<basename>.lock` beside the thing locked, held with a POSIX `fcntl` record lock (what Python's
 * `lockf` takes), so a grokmirror process and ours exclude each other, and the kernel drops the lock
 * when its holder dies, however it dies. fcntl locks belong to a process, not a descriptor, so an
 * in-process queue serialises holders inside one process first. Waiting polls with `immediate` locks:
 * a blocking fcntl would pin one of libuv's four threadpool threads per waiter.
 *
 * The lock file of something that is gone is removed by whoever holds it (removeLockIfGone). A
 * process that was waiting on that file then holds a lock on a file no longer at the path, and
 * another could lock a new one there: so a lock counts as taken only when the file locked is still
 * the one at the path; otherwise it is tried again on the file now there.
 */
import { closeSync, fstatSync, lstatSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { setTimeout as sleepMs } from 'node:timers/promises';
import path from 'node:path';
import { lock as osLock } from 'os-lock';
import { GrokError } from './errors.js';

export interface LockOptions {
  /** Give up after this long (default: wait forever). 0 means try once. */
  readonly timeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Stop waiting when this aborts (a daemon told to stop): GROK_ERR_STOPPED, nothing held. */
  readonly signal?: AbortSignal;
}

export interface HeldLock {
  readonly path: string;
  release(): Promise<void>;
}

const inProcess = new Map<string, Promise<void>>();
const defaultSleep = (ms: number) => sleepMs(ms);

/** `.<basename>.lock` in the same directory, grokmirror's naming for manifests and repos. */
export function lockPathFor(target: string): string {
  const abs = path.resolve(target);
  return path.join(path.dirname(abs), `.${path.basename(abs)}.lock`);
}

function isBusy(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EAGAIN' || code === 'EACCES' || code === 'EBUSY';
}

export async function acquireLock(lockFile: string, opts: LockOptions = {}): Promise<HeldLock> {
  const file = path.resolve(lockFile);
  const sleep = opts.sleep ?? defaultSleep;
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;

  // In-process queue: wait for the previous holder in this process (bounded by the same deadline).
  const previous = inProcess.get(file);
  let releaseLocal!: () => void;
  const mine = new Promise<void>((r) => (releaseLocal = r));
  const chained = (previous ?? Promise.resolve()).then(() => mine);
  inProcess.set(file, chained);
  const cleanupLocal = () => {
    releaseLocal();
    if (inProcess.get(file) === chained) inProcess.delete(file);
  };
  if (previous) {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const timedOut = new Promise<false | 'stopped'>((r) => {
      if (deadline !== Infinity) timer = setTimeout(() => r(false), Math.max(0, deadline - Date.now()));
      onAbort = () => r('stopped');
      opts.signal?.addEventListener('abort', onAbort, { once: true });
    });
    if (opts.signal?.aborted) onAbort!();
    const waited = await Promise.race([previous.then(() => true as const), timedOut]);
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort!);
    if (waited !== true) {
      cleanupLocal();
      throw waited === 'stopped' ? stoppedError(file) : busyError(file);
    }
  }

  let fd: number | undefined;
  try {
    // The lock sits beside what it locks, whose directory may not exist yet (a repo about to be
    // cloned, a first objstore); grokmirror creates it too. mkdir, open and close are synchronous:
    // microseconds each, where the promise API's threadpool hops cost a pass over hundreds of
    // repositories milliseconds per lock.
    let delay = 5;
    for (;;) {
      if (fd === undefined) {
        mkdirSync(path.dirname(file), { recursive: true });
        fd = openSync(file, 'a', 0o666);
      }
      try {
        await osLock(fd, { exclusive: true, immediate: true });
        if (isStillAt(fd, file)) break;
        // Removed (or replaced) while we waited: what we locked is no longer the lock. Try the file there now.
        closeQuietly(fd);
        fd = undefined;
        continue;
      } catch (err) {
        if (!isBusy(err)) throw err;
        if (Date.now() >= deadline) throw busyError(file);
        if (opts.signal?.aborted) throw stoppedError(file);
        await sleep(Math.min(delay, Math.max(1, deadline - Date.now())) + Math.random() * delay);
        delay = Math.min(delay * 2, 100);
      }
    }
  } catch (err) {
    if (fd !== undefined) closeQuietly(fd);
    cleanupLocal();
    if (err instanceof GrokError) throw err;
    throw new GrokError('GROK_ERR_LOCK', `cannot lock ${file}: ${(err as Error).message}`, { path: file }, { cause: err });
  }
  const held = fd!;
  let released = false;
  return {
    path: file,
    async release() {
      if (released) return;
      released = true;
      // Closing the descriptor drops the process's fcntl locks on the file (POSIX), so no separate
      // unlock call; the in-process queue guarantees we held the only descriptor locking it.
      closeQuietly(held);
      cleanupLocal();
    },
  };
}

/** Whether the open file `fd` is still the file at `file` (not unlinked, not replaced). */
function isStillAt(fd: number, file: string): boolean {
  try {
    const open = fstatSync(fd);
    const now = statSync(file);
    return open.nlink > 0 && open.ino === now.ino && open.dev === now.dev;
  } catch {
    return false;
  }
}

/**
 * Removes the lock file of `target` once `target` is gone, if the lock can be taken now (never one
 * another process holds): a repository's `.<name>.lock` would otherwise stay for ever after it was
 * deleted. The file is unlinked while we hold its lock; a waiter on it then sees it gone (above).
 * Returns whether it was removed.
 */
export async function removeLockIfGone(target: string): Promise<boolean> {
  const file = lockPathFor(target);
  let held: HeldLock;
  try {
    held = await acquireLock(file, { timeoutMs: 0 });
  } catch (err) {
    if (isLockBusy(err)) return false;
    throw err;
  }
  try {
    if (lstatSync(target, { throwIfNoEntry: false })) return false;
    unlinkSync(file);
    return true;
  } finally {
    await held.release();
  }
}

/** removeLockIfGone for each of these lock files (a walk's orphan locks); returns the ones removed. */
export async function removeOrphanLocks(lockFiles: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const f of lockFiles) {
    const name = lockTargetName(path.basename(f));
    if (name === null) continue;
    // One that cannot be removed now (a permission, a race) is tried again at the next walk.
    if (await removeLockIfGone(path.join(path.dirname(f), name)).catch(() => false)) removed.push(f);
  }
  return removed;
}

/** `.<name>.lock` -> `<name>`, or null for a name that is no lock file's. */
export function lockTargetName(lockName: string): string | null {
  const m = /^\.(.+)\.lock$/.exec(lockName);
  return m ? m[1]! : null;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

export async function withLock<T>(lockFile: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const held = await acquireLock(lockFile, opts);
  try {
    return await fn();
  } finally {
    await held.release();
  }
}

/** The lock was held elsewhere (as opposed to a lock that could not be taken at all). */
/** A wait for a lock ended by its AbortSignal (LockOptions.signal). */
export function isLockWaitStopped(err: unknown): boolean {
  return err instanceof GrokError && err.code === 'GROK_ERR_STOPPED';
}

export function isLockBusy(err: unknown): boolean {
  return err instanceof GrokError && err.code === 'GROK_ERR_LOCK' && err.data.busy === true;
}

function stoppedError(file: string): GrokError {
  return new GrokError('GROK_ERR_STOPPED', `stopped while waiting for ${file}`, { path: file });
}

function busyError(file: string): GrokError {
  return new GrokError('GROK_ERR_LOCK', `${file} is locked by another process`, { path: file, busy: true });
}
