/**
 * A collection of many repositories whose future pushes are made in advance, so a test can push to
 * hundreds of repositories at the rate a busy origin sees without spending a git process per push:
 * one fast-import writes a base commit and, per repository, a chain of `pushes` commits; each
 * repository is what a local clone of the base alone would be (its pack a hardlink, so every commit of
 * every chain is already in it), made with file operations: a git clone each made building hundreds
 * slow. A push is then what git's own ref update does: write
 * `refs/heads/master.lock`, rename it over `refs/heads/master`. The fingerprint of each state is
 * known beforehand (sha1 of `git show-ref`: master is the only ref).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { GIT_ENV, git } from './git.js';

const run = promisify(execFile);

export interface ChainRepo {
  readonly index: number;
  readonly path: string;
  /** Manifest key. */
  readonly key: string;
  /** states[0] is the base commit (where every repository starts); states[k] the k-th push. */
  readonly states: readonly string[];
  /** Committer date (epoch seconds) of each state. */
  readonly dates: readonly number[];
  /** Fingerprint of the repository in each state. */
  readonly fingerprints: readonly string[];
}

export interface ChainCollection {
  readonly top: string;
  readonly repos: readonly ChainRepo[];
  /** Which state a fingerprint stands for, per key (undefined: none of ours). */
  stateOf(key: string, fingerprint: string): number | undefined;
}

export const BASE_DATE = 1_600_000_000;

export function fingerprintOf(oid: string): string {
  return createHash('sha1').update(`${oid} refs/heads/master\n`).digest('hex');
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** `n` repositories `top/r000.git`... each with `pushes` future commits of its own. */
export function makeChainCollection(dir: string, n: number, pushes: number): ChainCollection {
  const source = path.join(dir, 'source.git');
  const top = path.join(dir, 'top');
  mkdirSync(top, { recursive: true });
  git(['init', '-q', '--bare', source]);
  const blob = (s: string) => `data ${Buffer.byteLength(s)}\n${s}\n`;
  const parts: string[] = [];
  parts.push(`commit refs/heads/master\nmark :1\ncommitter Test Author <test@example.org> ${BASE_DATE} +0000\n${blob('base')}M 644 inline base.txt\n${blob('base')}`);
  const markOf = (i: number, k: number) => 2 + i * pushes + (k - 1);
  const dateOf = (i: number, k: number) => BASE_DATE + 100_000_000 + i * pushes + k;
  for (let i = 0; i < n; i++) {
    for (let k = 1; k <= pushes; k++) {
      parts.push(
        `commit refs/heads/chain${i}\nmark :${markOf(i, k)}\ncommitter Test Author <test@example.org> ${dateOf(i, k)} +0000\n` +
          `${blob(`r${i} push ${k}`)}${k === 1 ? 'from :1\n' : ''}M 644 inline r${i}.txt\n${blob(`r${i} state ${k}`)}`,
      );
    }
  }
  const marks = path.join(dir, 'marks');
  // Always a pack (fast-import leaves fewer than 100 objects loose): the repositories link to it.
  git([`--git-dir=${source}`, '-c', 'fastimport.unpackLimit=0', 'fast-import', '--quiet', `--export-marks=${marks}`], { input: parts.join('\n') });
  const oid = new Map(readFileSync(marks, 'utf8').trim().split('\n').map((l) => [Number(l.split(' ')[0]!.slice(1)), l.split(' ')[1]!]));
  const repos: ChainRepo[] = [];
  for (let i = 0; i < n; i++) {
    const name = `r${String(i).padStart(3, '0')}.git`;
    const states = [oid.get(1)!, ...Array.from({ length: pushes }, (_, k) => oid.get(markOf(i, k + 1))!)];
    repos.push({
      index: i,
      path: path.join(top, name),
      key: `/${name}`,
      states,
      dates: [BASE_DATE, ...Array.from({ length: pushes }, (_, k) => dateOf(i, k + 1))],
      fingerprints: states.map(fingerprintOf),
    });
  }
  const packs = readdirSync(path.join(source, 'objects/pack'));
  for (const r of repos) {
    // What `git clone --bare --local --single-branch` leaves: HEAD, config, packed-refs, linked pack.
    for (const d of ['refs/heads', 'refs/tags', 'objects/info', 'objects/pack']) mkdirSync(path.join(r.path, d), { recursive: true });
    writeFileSync(path.join(r.path, 'HEAD'), 'ref: refs/heads/master\n');
    writeFileSync(path.join(r.path, 'config'), '[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n');
    writeFileSync(path.join(r.path, 'packed-refs'), `# pack-refs with: peeled fully-peeled sorted \n${r.states[0]} refs/heads/master\n`);
    for (const p of packs) linkSync(path.join(source, 'objects/pack', p), path.join(r.path, 'objects/pack', p));
  }
  const byKey = new Map(repos.map((r) => [r.key, new Map(r.fingerprints.map((f, k) => [f, k]))]));
  return { top, repos, stateOf: (key, fp) => byKey.get(key)?.get(fp) };
}

/** A push of state `k`: the ref update git itself makes (lock file, then rename over the ref). */
export function pushState(r: ChainRepo, k: number): void {
  const ref = path.join(r.path, 'refs/heads/master');
  writeFileSync(`${ref}.lock`, `${r.states[k]}\n`);
  renameSync(`${ref}.lock`, ref);
}

/** sha1 of `git show-ref` as git prints it now (what the manifest's fingerprint must be). */
export async function showRefFingerprint(repo: string): Promise<string> {
  const { stdout } = await run('git', [`--git-dir=${repo}`, 'show-ref'], { env: GIT_ENV, encoding: 'buffer' });
  return createHash('sha1').update(stdout).digest('hex');
}
