/**
 * `grok-manifest --archive` / `--unarchive`: writes or removes the grokmirror.archived marker in each
 * named repository. The marker is the record (shared/repo/bare.ts ARCHIVED_MARKER); the manifest
 * update that follows (here or handed to grok-origin) reads it like any other repository fact, so a
 * later push, a regenerated manifest or a hook run keeps the flag until the marker is removed.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describeError } from '../../shared/errors.js';
import { atomicWriteSmallSync } from '../../shared/fs/atomic.js';
import { ARCHIVED_MARKER } from '../../shared/repo/bare.js';
import { resolveGivenPath } from './resolve-paths.js';

export interface ArchiveMarks {
  /** The paths whose marker is now as asked (to go on to the manifest update). */
  readonly done: string[];
  readonly failed: { path: string; error: string }[];
}

export async function setArchiveMarks(toplevel: string, paths: readonly string[], archived: boolean, nowSec: number): Promise<ArchiveMarks> {
  const res: ArchiveMarks = { done: [], failed: [] };
  let top: string;
  try {
    top = await fsp.realpath(toplevel);
  } catch (err) {
    for (const p of paths) res.failed.push({ path: p, error: `toplevel ${toplevel} unusable (${describeError(err)})` });
    return res;
  }
  for (const p of paths) {
    try {
      // The same checks as a manifest update: a bare repository under the toplevel (a symlink marks its target).
      const g = await resolveGivenPath(top, p);
      const repo = g.kind === 'repo' ? g.path : g.target.path;
      const marker = path.join(repo, ARCHIVED_MARKER);
      if (archived) atomicWriteSmallSync(marker, `archived by grok-manifest at ${new Date(nowSec * 1000).toISOString()}\n`);
      else await fsp.rm(marker, { force: true });
      res.done.push(p);
    } catch (err) {
      res.failed.push({ path: p, error: describeError(err) });
    }
  }
  return res;
}
