/** Facts about a directory as a bare repository, from its listing or a few stats. */
import { promises as fsp, statSync } from 'node:fs';
import path from 'node:path';

export const OBJSTORE_MARKER = 'grokmirror.objstore';
export const EXPORT_OK_FILE = 'git-daemon-export-ok';
/** Written by grok-fsck on a replica when git fsck found damage; grok-pull reclones the repository. */
export const RECLONE_FILE = 'grokmirror.reclone';
/**
 * Present in an origin repository that is retired: it stays served but is no longer polled by replicas
 * (its manifest entry carries `"archived": true`). The file, not the manifest, is what says so, so the
 * flag survives a regenerated manifest and every writer (walk, hook, grok-origin's notices) agrees.
 */
export const ARCHIVED_MARKER = 'grokmirror.archived';

export interface DirListing {
  readonly dirs: ReadonlySet<string>;
  readonly files: ReadonlySet<string>;
}

/** objects/ and refs/ directories and a HEAD file: good enough to fool git itself. */
export function listingIsBareRepo(l: DirListing): boolean {
  return l.dirs.has('objects') && l.dirs.has('refs') && l.files.has('HEAD');
}

async function isDir(p: string): Promise<boolean> {
  return fsp.stat(p).then((s) => s.isDirectory(), () => false);
}
async function isFile(p: string): Promise<boolean> {
  return fsp.stat(p).then((s) => s.isFile(), () => false);
}

export async function isBareRepo(dir: string): Promise<boolean> {
  const [o, r, h] = await Promise.all([isDir(path.join(dir, 'objects')), isDir(path.join(dir, 'refs')), isFile(path.join(dir, 'HEAD'))]);
  return o && r && h;
}

/** isBareRepo without the event loop, for checks made once per directory of a long list. */
export function isBareRepoSync(dir: string): boolean {
  const kind = (p: string) => statSync(path.join(dir, p), { throwIfNoEntry: false });
  return Boolean(kind('objects')?.isDirectory() && kind('refs')?.isDirectory() && kind('HEAD')?.isFile());
}

export async function isObjstoreRepo(dir: string): Promise<boolean> {
  return isFile(path.join(dir, OBJSTORE_MARKER));
}

export async function hasExportOk(dir: string): Promise<boolean> {
  return isFile(path.join(dir, EXPORT_OK_FILE));
}
