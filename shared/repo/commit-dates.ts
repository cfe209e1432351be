/**
 * Newest committer date per repository for many repositories at once: one `git cat-file --batch`
 * reads the ref tips of up to CHUNK repositories, their object directories passed as
 * GIT_ALTERNATE_OBJECT_DIRECTORIES. Same answer as `for-each-ref --sort=-committerdate` per repo
 * (refs to tags, trees or blobs have no committer date), a few processes instead of one per repo.
 * Chunks stay small because git looks for a loose object in every alternate in turn.
 */
import path from 'node:path';
import type { Git } from '../git/index.js';

export interface TipSet {
  readonly gitDir: string;
  readonly oids: readonly string[];
}

const CHUNK = 64;

/** Committer timestamp from a commit object's header, or null when it has none we can read. */
export function committerTime(commit: Buffer): number | null {
  const text = commit.toString('latin1');
  const at = text.startsWith('committer ') ? 0 : text.indexOf('\ncommitter ') + 1;
  if (at <= 0 && !text.startsWith('committer ')) return null;
  const end = text.indexOf('\n', at);
  const line = text.slice(at, end < 0 ? undefined : end);
  const m = /> (\d+) [-+]\d{4}$/.exec(line);
  return m ? Number(m[1]) : null;
}

/** Parses `cat-file --batch` output into oid -> committer time (null for non-commits, missing absent). */
export function parseBatch(out: Buffer): Map<string, number | null> {
  const dates = new Map<string, number | null>();
  let pos = 0;
  while (pos < out.length) {
    const nl = out.indexOf(0x0a, pos);
    if (nl < 0) break;
    const header = out.toString('latin1', pos, nl).split(' ');
    pos = nl + 1;
    if (header[1] === 'missing' || header.length < 3) continue;
    const size = Number(header[2]);
    const body = out.subarray(pos, pos + size);
    pos += size + 1;
    dates.set(header[0]!, header[1] === 'commit' ? committerTime(body) : null);
  }
  return dates;
}

/**
 * Returns gitDir -> newest date (null: no ref points at a commit), leaving out repositories whose tips
 * could not all be read this way (the caller asks git per repo for those).
 */
export async function newestCommitDates(git: Git, sets: readonly TipSet[]): Promise<Map<string, number | null>> {
  const result = new Map<string, number | null>();
  const usable = sets.filter((s) => !/[:"\\\0\n]/.test(s.gitDir));
  for (let i = 0; i < usable.length; i += CHUNK) {
    const chunk = usable.slice(i, i + CHUNK);
    const oids = [...new Set(chunk.flatMap((s) => s.oids))];
    if (oids.length === 0) continue;
    const res = await git.run({
      gitDir: chunk[0]!.gitDir,
      args: ['cat-file', '--batch'],
      input: oids.join('\n') + '\n',
      alternateObjectDirectories: chunk.map((s) => path.join(s.gitDir, 'objects')),
    });
    const dates = parseBatch(res.stdout);
    for (const s of chunk) {
      let newest: number | null = null;
      let complete = true;
      for (const oid of s.oids) {
        if (!dates.has(oid)) {
          complete = false;
          break;
        }
        const d = dates.get(oid)!;
        if (d !== null && d > 0 && (newest === null || d > newest)) newest = d;
      }
      if (complete) result.set(s.gitDir, newest);
    }
  }
  return result;
}
