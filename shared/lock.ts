/**
 * Exclusive locks shared by all our commands and compatible with grokmirror's: the lock file is
 * `.<basename>.lock` beside the thing locked, held with a POSIX `fcntl` record lock (what Python's
 * `lockf` takes), so a grokmirror process and ours exclude each other, and the kernel drops the lock
 * when its holder dies, however it dies. fcntl locks belong to a process, not a descriptor, so an
 * in-process queue serialises holders inside one process first. Waiting polls with `immediate` locks:
 * a blocking fcntl would pin one of libuv's four threadpool threads per waiter.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { setTimeout as sleepMs } from 'node:timers/promises';
import path from 'node:path';
import { lock as osLock } from 'os-lock';
import { GrokError } from './errors.js';

export interface LockOptions {
  /** Give up after this long (default: wait forever). 0 means try once. */
  readonly timeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
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
    const timedOut = new Promise<false>((r) => {
      if (deadline !== Infinity) timer = setTimeout(() => r(false), Math.max(0, deadline - Date.now()));
    });
    const waited = await Promise.race([previous.then(() => true), timedOut]);
    clearTimeout(timer);
    if (!waited) {
      cleanupLocal();
      throw busyError(file);
    }
  }

  let fd: number | undefined;
  try {
    // The lock sits beside what it locks, whose directory may not exist yet (a repo about to be
    // cloned, a first objstore); grokmirror creates it too. mkdir, open and close are synchronous:
    // microseconds each, where the promise API's threadpool hops cost a pass over hundreds of
    // repositories milliseconds per lock.
    mkdirSync(path.dirname(file), { recursive: true });
    fd = openSync(file, 'a', 0o666);
    let delay = 5;
    for (;;) {
      try {
        await osLock(fd, { exclusive: true, immediate: true });
        break;
      } catch (err) {
        if (!isBusy(err)) throw err;
        if (Date.now() >= deadline) throw busyError(file);
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
  const held = fd;
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
export function isLockBusy(err: unknown): boolean {
  return err instanceof GrokError && err.code === 'GROK_ERR_LOCK' && err.data.busy === true;
}

function busyError(file: string): GrokError {
  return new GrokError('GROK_ERR_LOCK', `${file} is locked by another process`, { path: file, busy: true });
}
