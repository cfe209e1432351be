/**
 * Test-side git: builds fixture repositories with the real git binary (tests never mock git). The
 * product reaches git only through shared/git; fixtures are made here with a fixed identity and dates.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const GIT_ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_'))),
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'test@example.org',
  GIT_COMMITTER_NAME: 'Test Author',
  GIT_COMMITTER_EMAIL: 'test@example.org',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
};

export function git(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  return execFileSync('git', args, {
    cwd: opts.cwd,
    env: { ...GIT_ENV, ...opts.env },
    input: opts.input,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  }).replace(/\n$/, '');
}

export function gitDir(dir: string, args: string[], env?: NodeJS.ProcessEnv): string {
  return git([`--git-dir=${dir}`, ...args], env ? { env } : {});
}

/** `git fsck` that must pass: standards say every git-level test ends with it. */
export function fsckOk(dir: string): { ok: boolean; output: string } {
  const r = spawnSync('git', [`--git-dir=${dir}`, 'fsck', '--no-progress', '--no-dangling'], { env: GIT_ENV, encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

let counter = 0;

/**
 * Makes a bare repo at `dir` with `commits` commits on `branch`, each at a fixed date, and returns
 * the sha of the last one. Uses a throwaway work tree beside it.
 */
export function makeRepo(dir: string, opts: { commits?: number; branch?: string; date?: number; file?: string } = {}): string {
  const work = `${dir}.work-${process.pid}-${counter++}`;
  mkdirSync(work, { recursive: true });
  git(['init', '-q', '-b', opts.branch ?? 'master', work]);
  const base = opts.date ?? 1_600_000_000;
  for (let i = 0; i < (opts.commits ?? 1); i++) {
    writeFileSync(path.join(work, opts.file ?? 'file.txt'), `${dir} ${i}\n`);
    git(['add', '-A'], { cwd: work });
    const date = `${base + i * 60} +0000`;
    git(['commit', '-q', '-m', `commit ${i}`], { cwd: work, env: { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } });
  }
  git(['clone', '-q', '--bare', work, dir]);
  const sha = git(['rev-parse', 'HEAD'], { cwd: work });
  execFileSync('rm', ['-rf', work]);
  return sha;
}

/** Commits once more onto a bare repo's branch (through a temporary clone) and returns the new sha. */
export function pushCommit(dir: string, opts: { branch?: string; date?: number; message?: string } = {}): string {
  const work = `${dir}.push-${process.pid}-${counter++}`;
  git(['clone', '-q', dir, work]);
  const branch = opts.branch ?? 'master';
  git(['checkout', '-q', '-B', branch], { cwd: work });
  writeFileSync(path.join(work, `f-${counter}.txt`), `${counter}\n`);
  git(['add', '-A'], { cwd: work });
  const date = `${opts.date ?? 1_700_000_000} +0000`;
  git(['commit', '-q', '-m', opts.message ?? 'more'], { cwd: work, env: { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } });
  git(['push', '-q', 'origin', `HEAD:refs/heads/${branch}`], { cwd: work });
  const sha = git(['rev-parse', 'HEAD'], { cwd: work });
  execFileSync('rm', ['-rf', work]);
  return sha;
}

/** Incompressible but reproducible bytes: SHA-256 in counter mode from a seed. */
export function noise(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let off = 0, i = 0; off < size; i++) off += createHash('sha256').update(`${seed}:${i}`).digest().copy(out, off);
  return out;
}

/** A bare repo with 10 blobs of 200 KB over 5 commits ("commit 0" to "commit 4"), plus a small text file changed each time. */
export function makeBigRepo(dir: string): void {
  const work = `${dir}.work`;
  mkdirSync(work, { recursive: true });
  git(['init', '-q', '-b', 'master', work]);
  for (let c = 0; c < 5; c++) {
    for (let b = 0; b < 2; b++) writeFileSync(path.join(work, `blob-${c}-${b}.bin`), noise(`${c}-${b}`, 200 * 1024));
    writeFileSync(path.join(work, 'notes.txt'), `version ${c}\n`);
    git(['add', '-A'], { cwd: work });
    const date = `${1_600_000_000 + c * 60} +0000`;
    git(['commit', '-q', '-m', `commit ${c}`], { cwd: work, env: { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } });
  }
  git(['clone', '-q', '--bare', work, dir]);
  rmSync(work, { recursive: true, force: true });
}
