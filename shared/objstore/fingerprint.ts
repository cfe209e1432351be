/**
 * The objstore's record of what it last fetched from each member: `grokmirror.<virtref>.fingerprint`
 * (grokmirror's file name), the member's fingerprint taken BEFORE the fetch, so a member that moved
 * meanwhile reads as changed and is fetched again. One writer: atomic, and its errors reach the caller
 * (a record that silently failed would make every later run refetch, or worse, skip).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { atomicWrite, removeStaleTemps } from '../fs/atomic.js';
import { currentFingerprint } from '../repo/refs.js';

export { currentFingerprint };

export function storeFingerprintFile(store: string, v: string): string {
  return path.join(store, `grokmirror.${v}.fingerprint`);
}

export async function readStoreFingerprint(store: string, v: string): Promise<string | null> {
  const text = await fsp.readFile(storeFingerprintFile(store, v), 'utf8').catch(() => null);
  return text === null ? null : text.trim();
}

/**
 * The caller holds the objstore's lock, which every writer of a record takes: a temp file of this
 * record found here is a killed writer's, and goes first. Without fsync: a lost record only costs a
 * refetch.
 */
export async function writeStoreFingerprint(store: string, v: string, fingerprint: string): Promise<void> {
  const file = storeFingerprintFile(store, v);
  await removeStaleTemps(file);
  await atomicWrite(file, fingerprint, { noSync: true });
}

export async function removeStoreFingerprint(store: string, v: string): Promise<void> {
  await fsp.rm(storeFingerprintFile(store, v), { force: true });
}
