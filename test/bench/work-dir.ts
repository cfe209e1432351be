/**
 * A benchmark's work directory under os.tmpdir(): fixed names, so that generated collections are kept
 * between runs, and so one run at a time per name. A second run started meanwhile would rebuild or
 * remove the first one's trees under it; it stops at once instead, saying which directory is taken and
 * how to run beside it. The lock (grokmirror's lock file beside the directory) goes with the process.
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acquireLock, isLockBusy, lockPathFor, type HeldLock } from '../../shared/lock.js';

const held: HeldLock[] = [];

export async function claimWorkDir(name: string): Promise<string> {
  const dir = path.join(os.tmpdir(), name);
  mkdirSync(dir, { recursive: true });
  try {
    held.push(await acquireLock(lockPathFor(dir), { timeoutMs: 0 }));
  } catch (err) {
    if (!isLockBusy(err)) throw err;
    throw new Error(`${dir} is in use by another benchmark run; wait for it, or run with TMPDIR set to another directory`);
  }
  return dir;
}
