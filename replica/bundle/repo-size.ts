/**
 * How big a repository is for -s: its own objects plus those of what it borrows from, followed
 * through alternates the way grokmirror adds up `count-objects` of the repository and its alternate:
 * a fork in an objstore bundles the objstore's objects that its branches reach, so a small fork of a
 * huge network still makes a huge bundle.
 */
import { objectBytes } from '../../shared/repo/object-bytes.js';
import { readAlternate } from '../../shared/repo/inspect.js';

export async function repoBytes(repo: string): Promise<number> {
  let total = 0;
  const seen = new Set<string>();
  for (let cur: string | null = repo; cur !== null && !seen.has(cur); cur = (await readAlternate(cur))?.repo ?? null) {
    seen.add(cur);
    total += objectBytes(cur);
  }
  return total;
}
