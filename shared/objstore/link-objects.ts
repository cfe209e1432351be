/** Hardlinking object files between repositories (the plumbing path of join, and merge). */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await fsp.link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return; // same object or pack name: same content
    if (code !== 'EXDEV' && code !== 'EPERM') throw err;
    await fsp.copyFile(from, to).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  }
}

/**
 * Hardlinks every pack and loose object of `src` into `dst` (never `.bitmap`: one per repository;
 * `.keep` stays behind too). Each pack's `.idx` comes after its `.pack`, so git never sees an index
 * without its pack. Copies when the two are on different filesystems.
 */
export async function linkObjects(src: string, dst: string): Promise<void> {
  const so = path.join(src, 'objects');
  const dobj = path.join(dst, 'objects');
  const packs = (await fsp.readdir(path.join(so, 'pack')).catch(() => [] as string[])).filter((n) => /^pack-[0-9a-f]+\.pack$/.test(n));
  await fsp.mkdir(path.join(dobj, 'pack'), { recursive: true });
  for (const p of packs) {
    const base = p.slice(0, -'.pack'.length);
    if (!existsSync(path.join(so, 'pack', `${base}.idx`))) continue; // still being written
    await linkOrCopy(path.join(so, 'pack', p), path.join(dobj, 'pack', p));
    if (existsSync(path.join(so, 'pack', `${base}.rev`))) await linkOrCopy(path.join(so, 'pack', `${base}.rev`), path.join(dobj, 'pack', `${base}.rev`));
    await linkOrCopy(path.join(so, 'pack', `${base}.idx`), path.join(dobj, 'pack', `${base}.idx`));
  }
  for (const d of await fsp.readdir(so).catch(() => [] as string[])) {
    if (!/^[0-9a-f]{2}$/.test(d)) continue;
    const names = (await fsp.readdir(path.join(so, d)).catch(() => [] as string[])).filter((n) => /^[0-9a-f]{38,62}$/.test(n));
    if (names.length === 0) continue;
    await fsp.mkdir(path.join(dobj, d), { recursive: true });
    for (const n of names) await linkOrCopy(path.join(so, d, n), path.join(dobj, d, n));
  }
}
