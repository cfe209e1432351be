/**
 * The ref state of a repository from one `git for-each-ref` run: the grokmirror fingerprint and the
 * newest committer date. The fingerprint is sha1 of exactly what `git show-ref` prints (every ref under
 * refs/, sorted by name, tags not peeled, `<sha> <ref>\n` per line), computed from the same lines;
 * refs matching an ignore glob are left out of the hash but still count for the date.
 */
import { createHash } from 'node:crypto';
import { matchesAny } from '../glob.js';
import type { Git } from '../git/index.js';

export interface RefState {
  readonly fingerprint: string;
  /** Newest committer date (epoch seconds) over refs pointing at commits; null when none do. */
  readonly newest: number | null;
  readonly refCount: number;
}

// %09 is a tab, which git forbids in ref names, so it safely separates the name from the date.
const FORMAT = '--format=%(objectname) %(refname)%09%(committerdate:unix)';

export async function readRefState(git: Git, gitDir: string, ignoreRefs: readonly string[] = []): Promise<RefState | null> {
  const res = await git.run({ gitDir, args: ['for-each-ref', FORMAT] });
  // latin1 keeps every byte of a ref name as one char, so the hash sees git's exact bytes.
  const text = res.stdout.toString('latin1');
  const hash = createHash('sha1');
  let newest: number | null = null;
  let refCount = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    const tab = line.lastIndexOf('\t');
    if (tab < 0) continue;
    const showRefLine = line.slice(0, tab);
    refCount++;
    const date = line.slice(tab + 1);
    if (date !== '') {
      const ts = Number(date);
      if (Number.isFinite(ts) && ts > 0 && (newest === null || ts > newest)) newest = ts;
    }
    if (ignoreRefs.length > 0) {
      const refname = Buffer.from(showRefLine.slice(showRefLine.indexOf(' ') + 1), 'latin1').toString('utf8');
      if (matchesAny(refname, ignoreRefs)) continue;
    }
    hash.update(showRefLine + '\n', 'latin1');
  }
  if (refCount === 0) return null;
  return { fingerprint: hash.digest('hex'), newest, refCount };
}
