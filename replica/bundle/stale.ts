/**
 * Bundles of repositories that left the manifest are removed, so a repo-tool client is never handed
 * the history of a repository the mirror no longer carries. Only what grok-bundle writes goes (the
 * bundle, its record, temp files of ours), and then directories left empty; anything else an
 * operator keeps in the outdir stays, and symlinks are never followed.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { BUNDLE_FILE, ownFileName } from '../../shared/bundle-layout.js';

/** Directories under `outdir` (relative, "/" separated) that hold a clone.bundle. */
export async function listBundleDirs(outdir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(path.join(outdir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isFile() && e.name === BUNDLE_FILE && rel !== '') found.push(rel);
      else if (e.isDirectory()) await walk(rel === '' ? e.name : `${rel}/${e.name}`);
    }
  };
  await walk('');
  return found.sort();
}

export async function removeBundleDir(outdir: string, rel: string): Promise<void> {
  const dir = path.join(outdir, rel);
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    // A directory under one of our names (a repository's, from the older layout) is its own stale entry.
    if (ownFileName(f) && !(await lstat(path.join(dir, f))).isDirectory()) await rm(path.join(dir, f), { force: true });
  }
  // Up towards the outdir while directories are empty (rmdir refuses anything else).
  for (let cur = rel; cur !== '' && cur !== '.'; cur = path.posix.dirname(cur)) {
    const ok = await rmdir(path.join(outdir, cur)).then(() => true, () => false);
    if (!ok) break;
  }
}

