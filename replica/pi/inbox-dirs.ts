/**
 * Which inbox a repository path belongs to, and where public-inbox keeps that inbox's databases: in
 * the inbox directory itself, or under -p (--pi-toplevel) at the same relative path, with `git`
 * linked to the mirrored epochs. Paths outside the toplevel are refused.
 */
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { GrokError } from '../../shared/errors.js';
import { parseEpochPath } from './epochs.js';

export interface InboxDirs {
  readonly name: string;
  /** The mirrored inbox directory (holding git/<N>.git). */
  readonly gdir: string;
  /** Where public-inbox's files for it live (gdir unless -p). */
  readonly pdir: string;
}

/** realpath when the path exists, else the absolute path (Python's os.path.realpath is not strict either). */
function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

const inside = (dir: string, p: string) => {
  const rel = path.relative(dir, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
};

/** The inbox directories of some repository paths, each once, in first-seen order; other paths are ignored. */
export function inboxDirsOf(repos: readonly string[]): string[] {
  const out = new Set<string>();
  for (const r of repos) {
    const at = parseEpochPath(r.trim());
    if (at) out.add(at.inboxDir);
  }
  return [...out];
}

export function inboxDirs(inboxDir: string, toplevel: string, piToplevel?: string): InboxDirs {
  const gdir = real(inboxDir);
  const top = real(toplevel);
  if (!inside(top, gdir)) throw new GrokError('GROK_ERR_OUTSIDE_TOPLEVEL', `${inboxDir} is outside the toplevel ${top}; not touching it`, { path: inboxDir });
  const name = path.basename(gdir);
  if (!piToplevel) return { name, gdir, pdir: gdir };
  const pitop = real(piToplevel);
  return { name, gdir, pdir: path.join(pitop, path.relative(top, gdir)) };
}

export const msgmapOf = (pdir: string) => path.join(pdir, 'msgmap.sqlite3');
export const hasMsgmap = (pdir: string) => existsSync(msgmapOf(pdir));
