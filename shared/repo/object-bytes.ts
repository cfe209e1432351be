/**
 * Bytes in a repository's own object files: its packs plus its loose objects (not what it borrows
 * through alternates). Taken before and after a fetch, the growth is what the fetch brought in,
 * whether git kept the received pack or exploded it into loose objects (fetch.unpackLimit, 100
 * objects by default, makes small pushes arrive loose). Indexes, bitmaps and .rev files are left
 * out: they are built here, not transferred.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

async function sizes(dir: string, keep: (name: string) => boolean): Promise<number> {
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  let total = 0;
  for (const name of names) {
    if (!keep(name)) continue;
    // A file may go between readdir and stat (a concurrent gc); it then counts as nothing.
    total += (await fsp.stat(path.join(dir, name)).catch(() => null))?.size ?? 0;
  }
  return total;
}

export async function objectBytes(repo: string): Promise<number> {
  const objects = path.join(repo, 'objects');
  let total = await sizes(path.join(objects, 'pack'), (n) => n.endsWith('.pack'));
  for (const name of await fsp.readdir(objects).catch(() => [] as string[])) {
    if (/^[0-9a-f]{2}$/.test(name)) total += await sizes(path.join(objects, name), (n) => /^[0-9a-f]{38,62}$/.test(n));
  }
  return total;
}
