/**
 * git's own lock files (`packed-refs.lock`, `config.lock`, `refs/heads/x.lock`,
 * `objects/info/commit-graph.lock`, ...) left behind when a git process is killed: git refuses to
 * touch the locked file until someone deletes them. We run git in a repository only while holding
 * our own (fcntl) lock on it, so a git lock that is older than any git operation of another writer
 * could take (a push's ref update, a `git gc --auto` on an origin) is a leftover. One minute old is
 * the line; anything younger is left alone and the work is deferred to the next run.
 * `packed-refs.new` goes with them: git writes the new packed-refs there (created exclusively) while it
 * holds packed-refs.lock, so a killed git leaves both, and with only the lock gone every later ref
 * deletion fails on "packed-refs.new: File exists" for good.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { GitError } from '../git/index.js';

export const STALE_GIT_LOCK_MS = 60_000;

const FIXED = ['packed-refs.lock', 'packed-refs.new', 'config.lock', 'HEAD.lock', 'shallow.lock', 'FETCH_HEAD.lock', 'objects/info/commit-graph.lock', 'objects/info/commit-graphs/commit-graph-chain.lock', 'objects/info/packs.lock'];

function refLocks(dir: string, out: string[]): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) refLocks(p, out);
    else if (e.name.endsWith('.lock')) out.push(p);
  }
}

/** Removes git lock files older than `maxAgeMs` in the repository; returns the ones removed. */
export function clearStaleGitLocks(repo: string, now: number, maxAgeMs = STALE_GIT_LOCK_MS): string[] {
  const candidates = FIXED.map((f) => path.join(repo, f));
  refLocks(path.join(repo, 'refs'), candidates);
  const removed: string[] = [];
  for (const f of candidates) {
    const st = statSync(f, { throwIfNoEntry: false });
    if (!st || now - st.mtimeMs < maxAgeMs) continue;
    rmSync(f, { force: true });
    removed.push(f);
  }
  return removed;
}

/**
 * A git failure because one of its lock files exists (a live git elsewhere, or a young leftover).
 * `git config` words it its own way ("could not lock config file <path>: File exists"), and a young
 * packed-refs.new stands for its lock.
 */
export function isGitLockBusy(err: unknown): boolean {
  return (
    err instanceof GitError &&
    /Unable to create '[^']+\.lock': File exists|cannot lock ref .*File exists|could not lock config file .*: File exists|packed-refs\.new: File exists|Another git process seems to be running/.test(err.stderr)
  );
}
