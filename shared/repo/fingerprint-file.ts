/**
 * `grokmirror.fingerprint` inside a repo caches its fingerprint (no trailing newline), read by
 * grok-pull and grok-fsck, ours and grokmirror's. It is a cache: written atomically so readers never
 * see half a value, but without fsync (a lost write only costs a recomputation), and only when it changed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { atomicWrite } from '../fs/atomic.js';

export const FINGERPRINT_FILE = 'grokmirror.fingerprint';

export function readFingerprintFile(gitDir: string): string | null {
  try {
    const text = readFileSync(path.join(gitDir, FINGERPRINT_FILE), 'utf8').trim();
    return /^[0-9a-f]{40}$/.test(text) ? text : null;
  } catch {
    return null;
  }
}

export async function writeFingerprintFile(gitDir: string, fingerprint: string): Promise<boolean> {
  if (readFingerprintFile(gitDir) === fingerprint) return false;
  await atomicWrite(path.join(gitDir, FINGERPRINT_FILE), fingerprint, { noSync: true });
  return true;
}
