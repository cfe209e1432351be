/**
 * `git count-objects -v`, estimated from the files without starting git, for the decision after
 * every fetch: packs and in-pack objects are exact (each .idx says how many objects its pack holds,
 * in the last fanout entry), loose objects are sampled from objects/17 the way `git gc --auto`
 * does (about 1/256 of them live there).
 */
import { openSync, readSync, closeSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ObjectCounts } from './repack-level.js';

function idxObjects(file: string): number {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(4);
    // v2 index: 4-byte magic, 4-byte version, 256 fanout entries; the last is the object count.
    readSync(fd, b, 0, 4, 8 + 255 * 4);
    return b.readUInt32BE(0);
  } finally {
    closeSync(fd);
  }
}

export function estimateObjectCounts(repo: string): ObjectCounts {
  const objects = path.join(repo, 'objects');
  let packs = 0;
  let inPack = 0;
  let sizePack = 0;
  for (const name of readdirSafe(path.join(objects, 'pack'))) {
    if (!name.endsWith('.pack')) continue;
    packs++;
    sizePack += statSync(path.join(objects, 'pack', name)).size;
    try {
      inPack += idxObjects(path.join(objects, 'pack', name.replace(/\.pack$/, '.idx')));
    } catch {
      // a pack without its index yet (being written): counted as a pack, its objects unknown
    }
  }
  let sampled = 0;
  let sampledSize = 0;
  for (const name of readdirSafe(path.join(objects, '17'))) {
    if (!/^[0-9a-f]{38}$/.test(name)) continue;
    sampled++;
    sampledSize += statSync(path.join(objects, '17', name)).size;
  }
  return { count: sampled * 256, size: Math.round((sampledSize * 256) / 1024), inPack, packs, sizePack: Math.round(sizePack / 1024) };
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Loose ref files under refs/ (stops counting at `limit`). */
export function countLooseRefs(repo: string, limit: number): number {
  let n = 0;
  const walk = (dir: string): void => {
    for (const e of (() => {
      try {
        return readdirSync(dir, { withFileTypes: true });
      } catch {
        return [];
      }
    })()) {
      if (n >= limit) return;
      if (e.isDirectory()) walk(path.join(dir, e.name));
      else n++;
    }
  };
  walk(path.join(repo, 'refs'));
  return n;
}
