import type { ManifestEntry } from '../../shared/manifest/entry.js';
import { keyToPath } from '../../shared/manifest/keys.js';
import { resolveRepoSymlink } from '../../shared/repo/discover.js';
import type { Target } from './plan.js';

/** Keeps a path-mode entry's old symlinks that still point at it, plus the ones named now. */
export async function liveSymlinks(toplevel: string, target: Target, old: ManifestEntry | undefined, given: readonly string[]): Promise<string[]> {
  const keep = new Set(given);
  for (const s of old?.symlinks ?? []) {
    if (keep.has(s)) continue;
    const res = await resolveRepoSymlink(toplevel, keyToPath(toplevel, s)).catch(() => ({ why: 'error' }));
    if ('target' in res && res.target === target.path) keep.add(s);
  }
  return [...keep];
}

