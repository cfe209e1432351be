/**
 * Temp files of manifest writes that a kill cut short (atomicWrite's `.<manifest>.<hex>.tmp`), which
 * nothing else would ever remove. Every writer of the manifest holds its lock, so whoever takes it may
 * remove them; when it is busy (a long walk), another run will.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { removeStaleTemps } from '../fs/atomic.js';
import { isLockBusy, lockPathFor, withLock } from '../lock.js';

/** The names removed ([] when the lock was busy). */
export async function removeKilledManifestWrites(file: string): Promise<string[]> {
  // No directory, no leftovers; and the lock file is not to create one.
  if (!existsSync(path.dirname(file))) return [];
  try {
    return await withLock(lockPathFor(file), () => removeStaleTemps(file), { timeoutMs: 0 });
  } catch (err) {
    if (isLockBusy(err)) return [];
    throw err;
  }
}
