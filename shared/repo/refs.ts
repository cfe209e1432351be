/**
 * The ref state of a repository: the grokmirror fingerprint and the newest committer date.
 * The fingerprint is sha1 of exactly what `git show-ref` prints (every ref under refs/, sorted by
 * name, tags not peeled, `<sha> <ref>\n` per line); refs matching an ignore glob are left out of the
 * hash but still count for the date.
 */
import { createHash } from 'node:crypto';
import { matchesAny } from '../glob.js';
import { readRefFiles, type FileRef, type Git } from '../git/index.js';

export interface RefState {
  readonly fingerprint: string;
  /** Newest committer date (epoch seconds) over refs pointing at commits; null when none do. */
  readonly newest: number | null;
  readonly refCount: number;
}

/** Fingerprint of refs given as latin1 strings (names sorted by bytes, as git lists them). */
export function fingerprintOf(refs: readonly FileRef[], ignoreRefs: readonly string[] = []): string {
  const hash = createHash('sha1');
  for (const r of refs) {
    if (ignoreRefs.length > 0 && matchesAny(Buffer.from(r.name, 'latin1').toString('utf8'), ignoreRefs)) continue;
    hash.update(`${r.oid} ${r.name}\n`, 'latin1');
  }
  return hash.digest('hex');
}

// %09 is a tab, which git forbids in ref names, so it safely separates the name from the date.
const FORMAT = '--format=%(objectname) %(refname)%09%(committerdate:unix)';

/** One `git for-each-ref` run: the authoritative way, used when the files cannot be read directly. */
export async function readRefStateWithGit(git: Git, gitDir: string, ignoreRefs: readonly string[] = []): Promise<RefState | null> {
  const res = await git.run({ gitDir, args: ['for-each-ref', FORMAT] });
  // latin1 keeps every byte of a ref name as one char, so the hash sees git's exact bytes.
  const refs: FileRef[] = [];
  let newest: number | null = null;
  for (const line of res.stdout.toString('latin1').split('\n')) {
    const tab = line.lastIndexOf('\t');
    const space = line.indexOf(' ');
    if (tab < 0 || space < 0) continue;
    refs.push({ oid: line.slice(0, space), name: line.slice(space + 1, tab) });
    const ts = Number(line.slice(tab + 1) || NaN);
    if (Number.isFinite(ts) && ts > 0 && (newest === null || ts > newest)) newest = ts;
  }
  if (refs.length === 0) return null;
  return { fingerprint: fingerprintOf(refs, ignoreRefs), newest, refCount: refs.length };
}

/**
 * A repository's fingerprint now: from its ref files without a process when they are plain, else
 * from git (null when git finds no refs).
 */
export async function currentFingerprint(git: Git, gitDir: string): Promise<string | null> {
  const files = readRefFiles(gitDir);
  if (files.ok) return fingerprintOf(files.refs);
  return (await readRefStateWithGit(git, gitDir))?.fingerprint ?? null;
}
