/**
 * One repository's clone.bundle: made only when the repository changed since its bundle was made
 * (or the arguments did), and only when it is not over the size cap. The repository's lock is held
 * throughout, so grok-pull never fetches into it and grok-fsck never repacks or prunes it while git
 * reads it, and the fingerprint recorded is the one of the refs bundled. The new bundle is written
 * to a temp file beside the old one, checked with `git bundle verify`, and renamed over it: a client
 * downloading the old one meanwhile keeps a complete file. The bundle directory is reached without
 * following any symlink below the outdir.
 */
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { describeError, GrokError } from '../../shared/errors.js';
import { atomicReplace } from '../../shared/fs/atomic.js';
import { GitError, untrusted, type Git } from '../../shared/git/index.js';
import { isLockBusy, lockPathFor, withLock } from '../../shared/lock.js';
import { currentFingerprint, fingerprintOf } from '../../shared/repo/refs.js';
import { BUNDLE_FILE, leftoverFileName } from '../../shared/bundle-layout.js';
import { readRecord, writeRecord } from './record.js';
import { repoBytes } from './repo-size.js';

export interface MakeBundleOptions {
  /** The repository's manifest key, recorded beside its bundle. */
  readonly key: string;
  /** `-c` settings from -g. */
  readonly config: Readonly<Record<string, string>>;
  /** -r, after `git bundle create <file>`. */
  readonly revlist: readonly string[];
  readonly argsId: string;
  /** -s in bytes. */
  readonly maxBytes: number;
}

export type MakeBundleResult =
  | { readonly status: 'written'; readonly bytes: number }
  | { readonly status: 'unchanged' }
  | { readonly status: 'too-large'; readonly bytes: number }
  /** The rev-list arguments select nothing (no branches yet): git refuses an empty bundle. */
  | { readonly status: 'empty' }
  | { readonly status: 'missing' }
  /** grok-pull or grok-fsck holds the repository; the next run makes it. */
  | { readonly status: 'busy' }
  | { readonly status: 'failed'; readonly reason: string };

// A large repository's bundle at core.compression=9 can outlast git's default command timeout.
const BUNDLE_TIMEOUT_MS = 6 * 60 * 60 * 1000;

/** `dir`: the bundle directory relative to `outdir` ("/" separated). */
export async function makeBundle(git: Git, repo: string, outdir: string, dir: string, opts: MakeBundleOptions): Promise<MakeBundleResult> {
  try {
    return await withLock(lockPathFor(repo), () => makeLocked(git, repo, outdir, dir, opts), { timeoutMs: 0 });
  } catch (err) {
    if (isLockBusy(err)) return { status: 'busy' };
    return { status: 'failed', reason: describeError(err) };
  }
}

async function fingerprint(git: Git, repo: string): Promise<string> {
  return (await currentFingerprint(git, repo)) ?? fingerprintOf([]);
}

/**
 * Checks `<outdir>/<dir>` one directory at a time (and with `create`, makes what is missing): never
 * through a symlink, nor anything but a directory, below the outdir, so what grok-bundle reads and
 * writes stays in the outdir.
 */
async function bundleDirChain(outdir: string, dir: string, create: boolean): Promise<void> {
  let cur = outdir;
  for (const part of dir.split('/')) {
    cur = path.join(cur, part);
    let st = await lstat(cur).catch(() => null);
    if (st === null) {
      if (!create) return;
      await mkdir(cur).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      st = await lstat(cur);
    }
    if (st.isSymbolicLink()) throw new GrokError('GROK_ERR_WRITE', `${cur} is a symlink; grok-bundle never writes through one`, { path: cur });
    if (!st.isDirectory()) throw new GrokError('GROK_ERR_WRITE', `${cur} is not a directory`, { path: cur });
  }
}

async function makeLocked(git: Git, repo: string, outdir: string, dir: string, opts: MakeBundleOptions): Promise<MakeBundleResult> {
  if (!existsSync(path.join(repo, 'objects'))) return { status: 'missing' };
  const bundleDir = path.join(outdir, dir);
  const target = path.join(bundleDir, BUNDLE_FILE);
  await bundleDirChain(outdir, dir, false);
  const fp = await fingerprint(git, repo);
  const rec = readRecord(bundleDir);
  const ours = rec !== null && (rec.repo === null || rec.repo === opts.key);
  if (rec && ours && rec.fingerprint === fp && rec.argsId === opts.argsId && existsSync(target)) return { status: 'unchanged' };
  const size = await repoBytes(repo);
  if (size > opts.maxBytes) return { status: 'too-large', bytes: size };
  await bundleDirChain(outdir, dir, true);
  await removeLeftovers(bundleDir);
  try {
    await atomicReplace(target, async (tmp) => {
      await git.run({ gitDir: repo, config: opts.config, args: ['bundle', 'create', '-q', untrusted(tmp), ...opts.revlist], timeoutMs: BUNDLE_TIMEOUT_MS });
      // verify: what replaces a published bundle must be complete and readable.
      await git.run({ gitDir: repo, args: ['bundle', 'verify', '-q', untrusted(tmp)] });
    });
  } catch (err) {
    if (err instanceof GitError && /empty bundle/i.test(err.stderr)) return { status: 'empty' };
    throw err;
  }
  await writeRecord(bundleDir, { fingerprint: fp, argsId: opts.argsId, repo: opts.key });
  return { status: 'written', bytes: size };
}

/**
 * Temp files of an earlier run that was killed: ours (`.clone.bundle.<hex>.tmp` and
 * `..fingerprint.<hex>.tmp`, see shared/fs/atomic.ts) and git's lock file beside the first. Safe to
 * remove: we hold the repository's lock, and only grok-bundle writes into this directory.
 */
async function removeLeftovers(bundleDir: string): Promise<void> {
  for (const f of await readdir(bundleDir)) if (leftoverFileName(f)) await rm(path.join(bundleDir, f), { force: true });
}
