/**
 * Bytes in a repository's own object files: its packs plus its loose objects (not what it borrows
 * through alternates); and what a fetch brought in (objectsSnapshot before it, objectBytesAdded
 * after), whether git kept the received pack or exploded it into loose objects (fetch.unpackLimit,
 * 100 objects by default, makes small pushes arrive loose). Indexes, bitmaps and .rev files are left
 * out: they are built here, not transferred.
 * Synchronous, like the other small reads on the update path (repo/inspect.ts says why): taken twice
 * per fetched repository, the promise version added ~0.3 ms of threadpool hops each time to every
 * worker's chain, ten times the work itself.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const FANOUT = /^[0-9a-f]{2}$/;
const LOOSE = /^[0-9a-f]{38,62}$/;
const isPack = (n: string) => n.endsWith('.pack');

function names(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Bytes of the files in `dir` that `keep` takes, and that changed after `afterMs` (-Infinity: all). */
function sizes(dir: string, keep: (name: string) => boolean, afterMs = -Infinity): number {
  let total = 0;
  for (const name of names(dir)) {
    if (!keep(name)) continue;
    // A file may go between readdir and stat (a concurrent gc); it then counts as nothing.
    const st = statSync(path.join(dir, name), { throwIfNoEntry: false });
    if (st && st.mtimeMs > afterMs) total += st.size;
  }
  return total;
}

export function objectBytes(repo: string): number {
  const objects = path.join(repo, 'objects');
  let total = sizes(path.join(objects, 'pack'), isPack);
  for (const name of names(objects)) if (FANOUT.test(name)) total += sizes(path.join(objects, name), LOOSE.test.bind(LOOSE));
  return total;
}

/** What objectBytesAdded compares with: the packs' bytes, and each loose-object directory's mtime. */
export interface ObjectsSnapshot {
  readonly packBytes: number;
  readonly fanout: ReadonlyMap<string, number>;
}

/**
 * Taken before a fetch. A mirror soon has most of the 256 loose-object directories (git leaves them
 * when a repack empties them), so listing every one of them before and after each fetch was the
 * largest share of a pass's own work per fetched repository; a stat of each is enough to know which
 * the fetch wrote into.
 */
export function objectsSnapshot(repo: string): ObjectsSnapshot {
  const objects = path.join(repo, 'objects');
  const fanout = new Map<string, number>();
  for (const name of names(objects)) {
    if (!FANOUT.test(name)) continue;
    const st = statSync(path.join(objects, name), { throwIfNoEntry: false });
    if (st) fanout.set(name, st.mtimeMs);
  }
  return { packBytes: sizes(path.join(objects, 'pack'), isPack), fanout };
}

/**
 * The bytes a fetch added since `before`: growth of the packs, plus the loose objects written into a
 * directory after its mtime in the snapshot (a new object makes its directory's mtime at least its
 * own, and every object there before is no newer than the directory; to the resolution of the file
 * system's clock: a directory written twice within one tick, just before the fetch and by it, is missed). Both times come from the file
 * system's clock, so no clock is compared with another. An object git only freshened (its mtime
 * touched because the fetch brought it again) counts too: that is what the fetch transferred.
 */
export function objectBytesAdded(repo: string, before: ObjectsSnapshot): number {
  const objects = path.join(repo, 'objects');
  let total = Math.max(0, sizes(path.join(objects, 'pack'), isPack) - before.packBytes);
  for (const name of names(objects)) {
    if (!FANOUT.test(name)) continue;
    const dir = path.join(objects, name);
    const was = before.fanout.get(name);
    if (was !== undefined && !((statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? -Infinity) > was)) continue;
    total += sizes(dir, LOOSE.test.bind(LOOSE), was ?? -Infinity);
  }
  return total;
}
