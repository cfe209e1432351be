/**
 * Removing a whole repository (a purge, or the old copy a reclone replaced) takes a while, and a
 * pass killed half-way would leave a half-deleted directory: at the repository's own path (a purge)
 * or beside it (a reclone's `.<repo>.grok-old-<hex>`), where no later pass looks. So it is first
 * renamed into `<toplevel>/.grokmirror-trash/` (one rename, atomic) and deleted there, and every
 * pass starts by emptying that directory. Names inside follow work-names.ts (`grok-del`), so
 * discovery never takes them for repositories. Where the rename cannot be done (the repository is
 * on another filesystem than the toplevel) it is deleted in place, as before.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { workPath } from '../../shared/repo/work-names.js';

export const TRASH_DIR = '.grokmirror-trash';

export async function discard(toplevel: string, dir: string): Promise<void> {
  const trash = path.join(toplevel, TRASH_DIR);
  const aside = workPath(dir, 'del', trash);
  try {
    await fsp.mkdir(trash, { recursive: true });
    await fsp.rename(dir, aside);
  } catch {
    await fsp.rm(dir, { recursive: true, force: true });
    return;
  }
  await fsp.rm(aside, { recursive: true, force: true });
}

/** What killed passes left in the trash; returns the names removed. */
export async function emptyTrash(toplevel: string): Promise<string[]> {
  const trash = path.join(toplevel, TRASH_DIR);
  const names = await fsp.readdir(trash).catch(() => [] as string[]);
  for (const n of names) await fsp.rm(path.join(trash, n), { recursive: true, force: true });
  return names;
}
