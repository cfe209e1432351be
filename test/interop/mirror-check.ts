/**
 * Does a mirror hold what its origin holds? Every problem as a sentence (an empty list: it does), so
 * a test can assert on the whole list and see every difference at once: refs, HEAD, description,
 * owner, symlinks, and `git fsck --strict` of each repository and objstore.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { git } from '../helpers/git.js';
import { refsOf, strictFsckProblem } from './collection.js';

const readTrim = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim() : null);

export function ownerOf(repo: string): string | null {
  try {
    return git([`--git-dir=${repo}`, 'config', '--get', 'gitweb.owner']);
  } catch {
    return null;
  }
}

export interface MirrorCheckOptions {
  /** Keys the mirror must hold, and where its origin copy is. */
  readonly keys: readonly string[];
  /** Symlink key -> target key. */
  readonly symlinks?: Readonly<Record<string, string>>;
  /** Compare gitweb.owner too (false for replicas told to leave owners alone). */
  readonly owners?: boolean;
}

export function mirrorProblems(origin: string, mirror: string, opts: MirrorCheckOptions): string[] {
  const out: string[] = [];
  for (const k of opts.keys) {
    const o = path.join(origin, k);
    const m = path.join(mirror, k);
    if (!existsSync(path.join(m, 'HEAD'))) {
      out.push(`${k}: missing`);
      continue;
    }
    if (refsOf(m) !== refsOf(o)) out.push(`${k}: refs differ`);
    if (readTrim(path.join(m, 'HEAD')) !== readTrim(path.join(o, 'HEAD'))) out.push(`${k}: HEAD differs`);
    const desc = readTrim(path.join(o, 'description'));
    if (desc && !desc.includes('edit this file') && readTrim(path.join(m, 'description')) !== desc) out.push(`${k}: description differs`);
    if (opts.owners !== false && ownerOf(o) !== null && ownerOf(m) !== ownerOf(o)) out.push(`${k}: owner ${JSON.stringify(ownerOf(m))}, origin ${JSON.stringify(ownerOf(o))}`);
    const fsck = strictFsckProblem(m);
    if (fsck) out.push(`${k}: git fsck --strict: ${fsck}`);
  }
  for (const [link, target] of Object.entries(opts.symlinks ?? {})) {
    const p = path.join(mirror, link);
    let real: string | null = null;
    try {
      real = realpathSync(p);
    } catch {
      // missing or dangling
    }
    if (real !== realpathSync(path.join(mirror, target))) out.push(`${link}: not a symlink to ${target}`);
  }
  return out;
}

/** The objstore repositories in a directory (grokmirror.objstore marker), by name. */
export function objstores(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => n.endsWith('.git') && existsSync(path.join(dir, n, 'grokmirror.objstore'))).sort();
}

/** `git fsck --strict` problems of every objstore in `dir`. */
export function objstoreProblems(dir: string): string[] {
  return objstores(dir).flatMap((n) => {
    const p = strictFsckProblem(path.join(dir, n));
    return p ? [`objstore ${n}: ${p}`] : [];
  });
}

/** Inode of every path, to show that nothing was recloned or recreated in between. */
export function inodes(paths: readonly string[]): Record<string, number> {
  return Object.fromEntries(paths.map((p) => [p, existsSync(p) ? statSync(p).ino : -1]));
}

/** Where a repository's alternates point (its objects/info/alternates, realpath'd), or null. */
export function alternateOf(repo: string): string | null {
  const line = readTrim(path.join(repo, 'objects', 'info', 'alternates'));
  if (!line) return null;
  return realpathSync(path.dirname(line));
}

export type RawManifest = Record<string, Record<string, unknown>>;

/** A manifest file as plain JSON, without our reader's checks (so what either tool wrote is seen as written). */
export function readRawManifest(file: string): RawManifest {
  const bytes = readFileSync(file);
  return JSON.parse((file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8')) as RawManifest;
}
