/**
 * Where a listed URL's mirror may go on disk: never inside an existing repository (git would take the
 * new mirror's files for refs of the outer one, and the outer one's walks and fetches for damage), and
 * never over a directory that holds repositories (a mirror around them would hide them). Nesting among
 * the URLs of one list is decided before the sweep (url-list.ts); this is what earlier sweeps, other
 * lists or an operator left on disk. Answers are kept per directory for the sweep: the list may hold
 * millions of URLs under a few thousand directories.
 */
import { existsSync } from 'node:fs';
import { keyToPath } from '../../shared/manifest/keys.js';
import { isBareRepoSync } from '../../shared/repo/bare.js';
import { discoverRepos } from '../../shared/repo/discover.js';
import { parentKeys } from './url-list.js';

export type RepoCache = Map<string, boolean>;

/** Why `key` is no place for a mirror, or null. */
export async function placeProblem(toplevel: string, key: string, cache: RepoCache): Promise<string | null> {
  for (const k of parentKeys(key)) {
    let repo = cache.get(k);
    if (repo === undefined) cache.set(k, (repo = isBareRepoSync(keyToPath(toplevel, k))));
    if (repo) return `maps to ${key}, inside the repository ${k}`;
  }
  const dir = keyToPath(toplevel, key);
  if (!existsSync(dir) || isBareRepoSync(dir)) return null;
  const inside = (await discoverRepos(dir)).repos[0];
  return inside ? `maps to ${key}, which would contain the repository ${key}${inside.key}` : null;
}
