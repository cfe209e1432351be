/**
 * An objstore that holds objects of a repository which may not give any (unpublished or private:
 * see inventory.ts) must lose them, not merely stop pointing at them: protocol v2 upload-pack sends
 * any object a served sibling can read through its alternates, reachable or not. So the objstore is
 * marked before that repository's refs leave it, and stays marked until a repack has pruned every
 * object no remaining ref reaches (run.ts). A run killed in between leaves the mark, and the next one
 * purges. The file lists who left and when, one per line.
 */
import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { atomicWrite } from '../fs/atomic.js';

export const PURGE_FILE = 'grokmirror.purge';

async function readMark(store: string): Promise<string> {
  return fsp.readFile(path.join(store, PURGE_FILE), 'utf8').catch(() => '');
}

export async function markPurge(store: string, member: string, nowMs: number): Promise<void> {
  await atomicWrite(path.join(store, PURGE_FILE), `${await readMark(store)}${member}\t${new Date(nowMs).toISOString()}\n`);
}

/** Who left an objstore that still has to be purged, or null when nothing is pending. */
export function purgePending(store: string): string[] | null {
  try {
    return readFileSync(path.join(store, PURGE_FILE), 'utf8').split('\n').filter((l) => l !== '').map((l) => l.split('\t')[0]!);
  } catch {
    return null;
  }
}

/** An objstore merged into another hands its pending purge on with its objects. */
export async function carryPurge(from: string, into: string): Promise<void> {
  const pending = await readMark(from);
  if (pending !== '') await atomicWrite(path.join(into, PURGE_FILE), `${await readMark(into)}${pending}`);
}

export async function clearPurge(store: string): Promise<void> {
  await fsp.rm(path.join(store, PURGE_FILE), { force: true });
}
