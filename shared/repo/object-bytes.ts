/**
 * Bytes in a repository's own object files: its packs plus its loose objects (not what it borrows
 * through alternates). Taken before and after a fetch, the growth is what the fetch brought in,
 * whether git kept the received pack or exploded it into loose objects (fetch.unpackLimit, 100
 * objects by default, makes small pushes arrive loose). Indexes, bitmaps and .rev files are left
 * out: they are built here, not transferred.
 * Synchronous, like the other small reads on the update path (repo/inspect.ts says why): taken twice
 * per fetched repository, the promise version added ~0.3 ms of threadpool hops each time to every
 * worker's chain, ten times the work itself.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function sizes(dir: string, keep: (name: string) => boolean): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let total = 0;
  // A file may go between readdir and stat (a concurrent gc); it then counts as nothing.
  for (const name of names) if (keep(name)) total += statSync(path.join(dir, name), { throwIfNoEntry: false })?.size ?? 0;
  return total;
}

export function objectBytes(repo: string): number {
  const objects = path.join(repo, 'objects');
  let total = sizes(path.join(objects, 'pack'), (n) => n.endsWith('.pack'));
  let names: string[];
  try {
    names = readdirSync(objects);
  } catch {
    return total;
  }
  for (const name of names) if (/^[0-9a-f]{2}$/.test(name)) total += sizes(path.join(objects, name), (n) => /^[0-9a-f]{38,62}$/.test(n));
  return total;
}
