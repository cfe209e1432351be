/**
 * Removing an objstore nothing borrows from: renamed aside first, so a crash never leaves half of one;
 * and the leftovers of creations and removals that a kill cut short.
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Git } from '../git/index.js';
import { workPath } from '../repo/work-names.js';
import { storeFingerprintFile } from './fingerprint.js';
import { deleteRefsUnder } from './members.js';

export async function removeStore(store: string): Promise<void> {
  const aside = workPath(store, 'del');
  await fsp.rename(store, aside);
  await fsp.rm(aside, { recursive: true, force: true });
}

/** Leftovers of interrupted creations and removals in the objstore directory. */
export async function cleanObjstoreDir(dir: string): Promise<string[]> {
  const gone: string[] = [];
  for (const n of await fsp.readdir(dir).catch(() => [] as string[])) {
    if (/^\..+\.git\.grok-(new|del)-[0-9a-f]+$/.test(n)) {
      await fsp.rm(path.join(dir, n), { recursive: true, force: true });
      gone.push(n);
    }
  }
  return gone;
}

/**
 * refs/preload/* (what a replica's objstore was seeded with from the origin's bundle, see
 * replica/execute/preload-bundle.ts) are dropped once every member is in the objstore under its own
 * refs and nothing else borrows: from then on the members' refs keep alive all that anyone needs.
 */
export async function dropPreloadRefs(git: Git, store: string, remotes: ReadonlyMap<string, string>): Promise<boolean> {
  for (const v of remotes.keys()) if (!existsSync(storeFingerprintFile(store, v))) return false;
  const refs = await git.run({ gitDir: store, args: ['for-each-ref', '--format=%(refname)', 'refs/preload/'] });
  if (refs.stdout.length === 0) return false;
  await deleteRefsUnder(git, store, 'refs/preload/');
  return true;
}
