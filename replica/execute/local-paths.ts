/**
 * Where a manifest key may be written on this replica's disk. keys.ts judges a key's text; this
 * judges it against the disk and grok-pull's own files, because a key that is fine as text can
 * still name a path that must not be touched: one that reaches outside the toplevel through a
 * symlink (path.join does not resolve symlinks, so the lexical check in keyToPath cannot see it),
 * a symlink, a directory inside another repository or the objstore, or a file grok-pull keeps (the
 * local manifest, its lock and last-fetch state, projects.list, lock files, temporary clones).
 * Asked before anything is locked or written for a key: the lock file alone is a write beside it.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { GrokConfig } from '../../shared/config/config.js';
import { lockPathFor } from '../../shared/lock.js';
import type { Logger } from '../../shared/log.js';
import { isUnder, keyToPath } from '../../shared/manifest/keys.js';
import { isBareRepo } from '../../shared/repo/bare.js';
import type { Refusal, RepoAction } from '../plan.js';
import { remoteStatePath } from '../source/remote-manifest.js';
import { TRASH_DIR } from './trash.js';
import { isWorkInProgress } from '../../shared/repo/work-names.js';

export interface LocalPaths {
  /** The toplevel, resolved (realpath). */
  readonly toplevel: string;
  readonly objstoreDir: string;
  /** Files grok-pull and its neighbours keep, by absolute path, with what each is. */
  readonly reserved: ReadonlyMap<string, string>;
}

// grokmirror's lock files (".<name>.lock"); our work in progress is work-names.ts's.
const LOCK_NAME_RE = /^\..+\.lock$/;

export function localPaths(config: GrokConfig, toplevel: string): LocalPaths {
  // Config paths are spelled with the configured toplevel, which may itself be a symlink.
  const real = (p: string) => path.resolve(toplevel, path.relative(config.core.toplevel, p));
  const reserved = new Map<string, string>();
  const add = (p: string, what: string) => p && reserved.set(real(p), what);
  add(config.core.manifest, 'the local manifest');
  add(lockPathFor(config.core.manifest), "the local manifest's lock file");
  add(remoteStatePath(config.core.manifest), 'the last-fetch state file');
  add(config.pull.projectslist, 'projects.list');
  add(path.join(config.core.toplevel, TRASH_DIR), "grok-pull's trash directory");
  add(config.pull.socket, "grok-pull's socket");
  add(config.core.log, 'the log file');
  add(config.fsck.statusfile, "grok-fsck's status file");
  return { toplevel, objstoreDir: real(config.core.objstore), reserved };
}

/** Why `full` (under the toplevel) names something of ours, or null. Pure. */
function reservedProblem(lp: LocalPaths, full: string): string | null {
  const what = lp.reserved.get(full);
  if (what) return `names ${what}`;
  for (const [p, w] of lp.reserved) {
    if (isUnder(full, p)) return `would hold ${w}`;
    if (isUnder(p, full)) return `lies in ${w}`;
  }
  if (isUnder(lp.objstoreDir, full)) return 'lies in the objstore directory';
  if (isUnder(full, lp.objstoreDir)) return 'would hold the objstore directory';
  const base = path.basename(full);
  if (LOCK_NAME_RE.test(base)) return 'names a lock file';
  if (isWorkInProgress(base)) return "names one of grok-pull's temporary directories";
  return null;
}

export interface KeyCheckOptions {
  /** The key is one of an entry's symlinks, which may already be one. */
  readonly link?: boolean;
  /** Plain directories (neither symlinks nor repositories) already walked through: keys share parents. */
  readonly plainDirs?: Set<string>;
}

/**
 * Why `key` must not be written on this replica, or null. Walks the key's path from the toplevel:
 * a symlink on the way must resolve inside the toplevel (and is followed), a repository on the way
 * means the key lies inside it.
 */
export async function localKeyProblem(lp: LocalPaths, key: string, opts: KeyCheckOptions = {}): Promise<string | null> {
  let cur = lp.toplevel;
  const segs = keyToPath(lp.toplevel, key).slice(lp.toplevel.length + 1).split(path.sep);
  const first = reservedProblem(lp, path.join(cur, ...segs));
  if (first) return first;
  for (let i = 0; i < segs.length; i++) {
    const last = i === segs.length - 1;
    const next = path.join(cur, segs[i]!);
    if (!last && opts.plainDirs?.has(next)) {
      cur = next;
      continue;
    }
    const shown = `/${segs.slice(0, i + 1).join('/')}`;
    const st = await fsp.lstat(next).catch(() => null);
    if (!st) return null; // nothing below exists yet: what we make there stays where we make it
    if (st.isSymbolicLink()) {
      if (last) return opts.link ? null : `is a symlink on this replica (${shown}), not a repository`;
      const real = await fsp.realpath(next).catch(() => null);
      if (!real) return `goes through the symlink ${shown}, which is dangling`;
      if (!isUnder(lp.toplevel, real) || real === lp.toplevel) return `goes through the symlink ${shown}, which points outside the toplevel (to ${real})`;
      const rest = path.join(real, ...segs.slice(i + 1));
      const why = reservedProblem(lp, rest);
      if (why) return `goes through the symlink ${shown} and ${why}`;
      if (await isBareRepo(real)) return `lies inside the repository that the symlink ${shown} points at`;
      cur = real;
      continue;
    }
    if (!st.isDirectory()) return last ? `names ${shown}, a file on this replica that is not a repository` : `lies under ${shown}, a file on this replica`;
    if (!last && (await isBareRepo(next))) return `lies inside the repository ${shown}`;
    if (!last) opts.plainDirs?.add(next);
    cur = next;
  }
  return null;
}

/**
 * Why an action must not be carried out on this replica: its key or its symlinks. Asked when the pass
 * is planned and again just before the action runs, under the repository's lock: the disk may have
 * changed in between (the pass itself makes symlinks).
 */
export async function actionProblem(lp: LocalPaths, a: RepoAction, plainDirs?: Set<string>): Promise<string | null> {
  const why = await localKeyProblem(lp, a.key, { ...(plainDirs ? { plainDirs } : {}) });
  if (why) return why;
  for (const s of a.entry.symlinks ?? []) {
    const w = await localKeyProblem(lp, s, { link: true, ...(plainDirs ? { plainDirs } : {}) });
    if (w) return `has a symlink ${JSON.stringify(s)} that ${w}`;
  }
  return null;
}

/** How the error of a refused (held-back) entry starts, among a pass's failed repositories. */
export const REFUSED = 'refused: ';

/** The message of a refused entry, the same wherever it was refused. */
export function refusalMessage(key: string, why: string): string {
  return `refusing ${JSON.stringify(key)} on this replica: it ${why}; whatever this replica holds of it stays as it is`;
}

/** The actions that may go ahead, and the others (logged as refused, like entries refused on reading). */
export async function refuseUnsafe(lp: LocalPaths, actions: readonly RepoAction[], log: Logger): Promise<{ ok: RepoAction[]; refused: Refusal[] }> {
  const ok: RepoAction[] = [];
  const refused: Refusal[] = [];
  const plainDirs = new Set<string>();
  for (const a of actions) {
    const why = await actionProblem(lp, a, plainDirs);
    if (why) {
      log.error({ repo: a.key, action: 'refuse' }, refusalMessage(a.key, why));
      refused.push({ key: a.key, why });
    } else ok.push(a);
  }
  return { ok, refused };
}
