/**
 * A generated fork network for grok-fsck tests and benchmarks (issue 5): an upstream, forks with
 * their own commits and branches, a private fork holding a secret blob, a fork of a fork, a fork to be
 * deleted, a fork to be force-pushed, a repository with two roots, and an unrelated repository.
 * Everything is a plain bare repository with its own full copy of its objects, as a mirror holds
 * them before any objstore work.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { git, gitDir, makeRepo, pushCommit } from './git.js';

export interface ForkNetwork {
  readonly top: string;
  readonly upstream: string;
  readonly forks: readonly string[];
  readonly privateFork: string;
  readonly secretBlob: string;
  readonly forkOfFork: string;
  readonly doomed: string;
  readonly doomedCommit: string;
  readonly forced: string;
  readonly forcedCommit: string;
  readonly multiRoot: string;
  readonly lone: string;
  /** Every repository path. */
  readonly all: readonly string[];
}

function cloneBare(from: string, to: string): void {
  mkdirSync(path.dirname(to), { recursive: true });
  git(['clone', '-q', '--bare', '--no-local', from, to]);
}

export function makeForkNetwork(top: string, opts: { forks?: number; commits?: number } = {}): ForkNetwork {
  const upstream = path.join(top, 'pub/upstream.git');
  mkdirSync(path.dirname(upstream), { recursive: true });
  makeRepo(upstream, { commits: opts.commits ?? 12 });
  const forks: string[] = [];
  for (let i = 1; i <= (opts.forks ?? 10); i++) {
    const f = path.join(top, `pub/forks/fork${String(i).padStart(2, '0')}.git`);
    cloneBare(upstream, f);
    pushCommit(f, { branch: `feature-${i}`, message: `fork ${i} feature`, date: 1_700_000_000 + i });
    if (i % 3 === 0) pushCommit(f, { branch: 'master', message: `fork ${i} on master`, date: 1_700_000_100 + i });
    forks.push(f);
  }
  const privateFork = path.join(top, 'private/secret.git');
  cloneBare(upstream, privateFork);
  const work = `${privateFork}.work`;
  git(['clone', '-q', privateFork, work]);
  writeFileSync(path.join(work, 'SECRET.txt'), 'embargoed fix: do not share\n');
  git(['add', 'SECRET.txt'], { cwd: work });
  git(['commit', '-q', '-m', 'embargoed'], { cwd: work });
  git(['push', '-q', 'origin', 'HEAD:refs/heads/embargo'], { cwd: work });
  const secretBlob = git(['rev-parse', 'HEAD:SECRET.txt'], { cwd: work });
  execFileSync('rm', ['-rf', work]);

  const forkOfFork = path.join(top, 'pub/forks/fork01-fork.git');
  cloneBare(forks[0]!, forkOfFork);
  pushCommit(forkOfFork, { branch: 'deeper', message: 'fork of a fork', date: 1_700_000_500 });

  const doomed = path.join(top, 'pub/forks/doomed.git');
  cloneBare(upstream, doomed);
  const doomedCommit = pushCommit(doomed, { branch: 'doomed', message: 'only the doomed fork has this', date: 1_700_000_600 });

  const forced = path.join(top, 'pub/forks/forced.git');
  cloneBare(upstream, forced);
  const forcedCommit = pushCommit(forced, { branch: 'wip', message: 'to be force-pushed away', date: 1_700_000_700 });

  // Two roots: the upstream's history plus an unrelated one merged in as its own branch.
  const multiRoot = path.join(top, 'pub/multi.git');
  cloneBare(upstream, multiRoot);
  const other = path.join(top, 'tmp-other.git');
  makeRepo(other, { commits: 3, file: 'other.txt', date: 1_650_000_000 });
  gitDir(multiRoot, ['fetch', '-q', other, '+refs/heads/master:refs/heads/other-history']);
  execFileSync('rm', ['-rf', other]);

  const lone = path.join(top, 'pub/lone.git');
  makeRepo(lone, { commits: 4, file: 'lone.txt', date: 1_640_000_000 });

  const all = [upstream, ...forks, privateFork, forkOfFork, doomed, forced, multiRoot, lone];
  return { top, upstream, forks, privateFork, secretBlob, forkOfFork, doomed, doomedCommit, forced, forcedCommit, multiRoot, lone, all };
}

/** Every ref of a repository with what it points at. */
export function refsOf(repo: string): string {
  return gitDir(repo, ['for-each-ref', '--format=%(objectname) %(refname)']);
}

/** Whether the repository can read this object (through its alternates too). */
export function hasObject(repo: string, oid: string): boolean {
  try {
    gitDir(repo, ['cat-file', '-e', oid]);
    return true;
  } catch {
    return false;
  }
}

/** Every file under `dir`, in bytes (a repository's objects/ as it sits on disk). */
export function bytesUnder(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += bytesUnder(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

/**
 * The floor for a set of repositories: one repository holding every object any of them has,
 * packed once (`git repack -a -d -f`); returns its objects/ size in bytes.
 */
export function floorBytes(repos: readonly string[], scratch: string): number {
  git(['init', '-q', '--bare', scratch]);
  repos.forEach((r, i) => gitDir(scratch, ['fetch', '-q', '--no-tags', r, `+refs/*:refs/r${i}/*`]));
  gitDir(scratch, ['repack', '-q', '-a', '-d', '-f']);
  gitDir(scratch, ['prune', '--expire=now']);
  return bytesUnder(path.join(scratch, 'objects'));
}

/**
 * A fork network as an origin holds one: an upstream with a history of edits to a few text files,
 * and `forks` full copies of it, each with commits of its own that arrived by push (so loose).
 * `shared: true` makes the forks with `git clone --bare -s` (borrowing from the upstream) instead.
 */
export function makePushedForkNetwork(top: string, opts: { forks?: number; commits?: number; shared?: boolean } = {}): { upstream: string; forks: string[] } {
  const upstream = path.join(top, 'upstream.git');
  const work = `${upstream}.work`;
  mkdirSync(work, { recursive: true });
  git(['init', '-q', '-b', 'master', work]);
  for (let c = 0; c < (opts.commits ?? 30); c++) {
    for (let f = 0; f < 4; f++) writeFileSync(path.join(work, `src-${f}.txt`), textOf(`${f}`, 40, c));
    git(['add', '-A'], { cwd: work });
    const date = `${1_600_000_000 + c * 60} +0000`;
    git(['commit', '-q', '-m', `upstream ${c}`], { cwd: work, env: { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } });
  }
  git(['clone', '-q', '--bare', work, upstream]);
  gitDir(upstream, ['repack', '-q', '-a', '-d']);
  const forks: string[] = [];
  for (let i = 1; i <= (opts.forks ?? 12); i++) {
    const fork = path.join(top, 'forks', `fork${String(i).padStart(2, '0')}.git`);
    mkdirSync(path.dirname(fork), { recursive: true });
    git(['clone', '-q', '--bare', ...(opts.shared ? ['-s'] : ['--no-local']), upstream, fork]);
    // The fork's own work, pushed: a branch with three commits changing a file of the upstream.
    git(['checkout', '-q', '-B', `work-${i}`, 'master'], { cwd: work });
    for (let c = 0; c < 3; c++) {
      writeFileSync(path.join(work, 'src-0.txt'), textOf(`fork${i}`, 40, c));
      git(['commit', '-q', '-am', `fork ${i} change ${c}`], { cwd: work, env: { GIT_AUTHOR_DATE: `${1_700_000_000 + i * 100 + c} +0000`, GIT_COMMITTER_DATE: `${1_700_000_000 + i * 100 + c} +0000` } });
    }
    git(['push', '-q', fork, `work-${i}`], { cwd: work });
    git(['checkout', '-q', 'master'], { cwd: work });
    forks.push(fork);
  }
  execFileSync('rm', ['-rf', work]);
  return { upstream, forks };
}

/** `kb` KB of line-oriented text, the same for a seed except for the lines `version` changes. */
function textOf(seed: string, kb: number, version: number): string {
  const lines: string[] = [];
  for (let i = 0, size = 0; size < kb * 1024; i++) {
    const changed = i % 17 === version % 17 ? `:v${version}` : '';
    lines.push(`${seed} line ${i}${changed} ${createHash('sha1').update(`${seed}/${i}${changed}`).digest('hex')}`);
    size += lines[lines.length - 1]!.length + 1;
  }
  return `${lines.join('\n')}\n`;
}
