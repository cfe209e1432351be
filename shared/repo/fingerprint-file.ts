/**
 * `grokmirror.fingerprint` inside a repo caches its fingerprint (no trailing newline), read by
 * grok-pull and grok-fsck, ours and grokmirror's. It is a cache: written atomically so readers never
 * see half a value, but without fsync (a lost write only costs a recomputation), and only when it changed.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { atomicWriteSmallSync } from '../fs/atomic.js';

export const FINGERPRINT_FILE = 'grokmirror.fingerprint';

export function readFingerprintFile(gitDir: string): string | null {
  // open + read + close: a pass over a large mirror reads one of these per repository, and
  // readFileSync's extra fstat was a third more system calls on the hot path.
  const buf = Buffer.alloc(48);
  let fd: number | undefined;
  try {
    fd = openSync(path.join(gitDir, FINGERPRINT_FILE), 'r');
    const text = buf.toString('latin1', 0, readSync(fd, buf, 0, buf.length, 0)).trim();
    return /^[0-9a-f]{40}$/.test(text) ? text : null;
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function writeFingerprintFile(gitDir: string, fingerprint: string): boolean {
  if (readFingerprintFile(gitDir) === fingerprint) return false;
  atomicWriteSmallSync(path.join(gitDir, FINGERPRINT_FILE), fingerprint);
  return true;
}
