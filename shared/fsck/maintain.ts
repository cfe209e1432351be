/**
 * Repack and check of one repository or objstore (docs/architecture.md "grok-fsck"): the repack level
 * from `git count-objects -v`, flags by role (repack.ts), commit-graph, pack-refs, a safe prune, then
 * `git fsck` whose findings go to `grokmirror.fsck.err` (and `grokmirror.reclone` on replicas).
 * preciousObjects on an objstore is lifted only around fsck's own repack and prune.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { FsckConfig } from '../config/schema.js';
import { atomicWrite, removeStaleTempsIn } from '../fs/atomic.js';
import { lookupConfigValue, type Git } from '../git/index.js';
import { RECLONE_FILE } from '../repo/bare.js';
import { clearStaleGitLocks } from '../repo/git-locks.js';
import { removeKilledAlternatesWrites } from '../repo/alternates.js';
import { isPromisorRepo } from '../repo/promisor.js';
import { parseCountObjects, repackLevel, type RepackLevel } from '../repo/repack-level.js';
import { shellWords } from '../shell-words.js';
import { classifyFsckOutput, fsckArgs } from './check.js';
import { ROOTS_FILE } from './roots.js';
import { mayPrune, repackArgs, type RepackPolicy, type RepoRole } from './repack.js';

export const FSCK_ERR_FILE = 'grokmirror.fsck.err';

export interface MaintainTarget {
  readonly path: string;
  readonly role: RepoRole;
  /** Objstores: its remotes are exactly its users; others: nobody borrows from it. */
  readonly pruneSafe: boolean;
  /** May ask grok-pull for a reclone (replicas, and never a repository others borrow from). */
  readonly mayReclone: boolean;
}

export interface MaintainRequest {
  /** 'auto' asks count-objects; null skips repacking. */
  readonly repack: Exclude<RepackLevel, 'none'> | 'auto' | null;
  readonly check: boolean;
  readonly connectivityOnly: boolean;
  /**
   * An objstore holding objects that may not be served (purge-mark.ts): every object no ref reaches
   * goes now, whatever `[fsck] prune` and `precious` say (the caller made its users self-sufficient
   * and holds their locks).
   */
  readonly purge?: boolean;
}

export interface MaintainDone {
  /** git lock files left by killed git processes, removed first. */
  readonly staleLocks: readonly string[];
  /** Temp files of our own files here whose writes a kill cut short, removed first. */
  readonly staleTemps: readonly string[];
  /** An objstore found without preciousObjects (a run killed during its repack) had it put back. */
  readonly preciousRestored: boolean;
  readonly repacked: RepackLevel;
  readonly checked: boolean;
  readonly errors: readonly string[];
  readonly reclone: boolean;
}

async function countLevel(git: Git, repo: string): Promise<RepackLevel> {
  const out = await git.run({ gitDir: repo, args: ['count-objects', '-v'] });
  return repackLevel(parseCountObjects(out.stdout.toString('utf8')));
}

async function setPrecious(git: Git, repo: string, on: boolean): Promise<void> {
  if (on) await git.run({ gitDir: repo, args: ['config', 'extensions.preciousObjects', 'true'] });
  else await git.run({ gitDir: repo, args: ['config', '--unset-all', 'extensions.preciousObjects'], okExit: [5] });
}

/** Sets preciousObjects unless the config file already says so (read without a process); true when set. */
async function ensurePrecious(git: Git, repo: string): Promise<boolean> {
  const text = await fsp.readFile(path.join(repo, 'config'), 'utf8').catch(() => '');
  const v = lookupConfigValue(text, 'extensions', 'preciousObjects');
  if ('found' in v && v.found && v.value?.toLowerCase() === 'true') return false;
  await setPrecious(git, repo, true);
  return true;
}

export async function repack(git: Git, t: MaintainTarget, level: Exclude<RepackLevel, 'none'>, cfg: FsckConfig, purge = false): Promise<void> {
  const policy: RepackPolicy = {
    pruneSafe: t.pruneSafe && (cfg.prune || purge),
    precious: purge && cfg.precious === 'always' ? 'yes' : (cfg.precious as RepackPolicy['precious']),
    extra: shellWords(cfg.extra_repack_flags),
    extraFull: shellWords(cfg.extra_repack_flags_full),
  };
  const store = t.role === 'objstore';
  // git refuses to delete objects while preciousObjects is set: lifted for our own repack only
  // ('yes'), off for good ('no'), or kept, and then nothing is deleted ('always').
  if (store && policy.precious !== 'always') await setPrecious(git, t.path, false);
  try {
    await git.run({ gitDir: t.path, args: repackArgs(t.role, level, policy) });
    if (cfg.commitgraph) await git.run({ gitDir: t.path, args: ['commit-graph', 'write', '--reachable'] });
    await git.run({ gitDir: t.path, args: ['pack-refs', ...(level === 'full' ? ['--all'] : [])] });
    if (mayPrune(t.role, policy)) await git.run({ gitDir: t.path, args: ['prune', purge ? '--expire=now' : '--expire=yesterday'] });
  } finally {
    if (store && policy.precious === 'yes') await setPrecious(git, t.path, true);
  }
}

export async function check(git: Git, t: MaintainTarget, connectivityOnly: boolean, cfg: FsckConfig): Promise<{ errors: string[]; reclone: boolean }> {
  const res = await git.run({
    gitDir: t.path,
    args: fsckArgs(connectivityOnly || t.role === 'member'),
    okExit: Array.from({ length: 255 }, (_, i) => i + 1),
  });
  const out = `${res.stdout.toString('utf8')}\n${res.stderr}`;
  const found = classifyFsckOutput(out, cfg.ignore_errors, cfg.reclone_on_errors);
  const errors = [...found.errors];
  if (res.exitCode !== 0 && errors.length === 0 && !out.split('\n').some((l) => l.trim() !== '')) errors.push(`git fsck exited with status ${res.exitCode}`);
  const errFile = path.join(t.path, FSCK_ERR_FILE);
  if (errors.length > 0) await atomicWrite(errFile, `${errors.join('\n')}\n`);
  else await fsp.rm(errFile, { force: true });
  const reclone = found.reclone && t.mayReclone;
  if (reclone) await atomicWrite(path.join(t.path, RECLONE_FILE), `${found.errors.join('\n')}\n`);
  return { errors, reclone };
}

export async function maintain(git: Git, t: MaintainTarget, req: MaintainRequest, cfg: FsckConfig, now: number): Promise<MaintainDone> {
  const staleLocks = clearStaleGitLocks(t.path, now);
  // Only grok-fsck writes these (one run at a time; here under the repository's lock too); the
  // alternates' writers (joins, adoptions, grok-pull) all hold that lock as well.
  const staleTemps = [
    ...(await removeStaleTempsIn(t.path, [ROOTS_FILE, FSCK_ERR_FILE, RECLONE_FILE])),
    ...(await removeKilledAlternatesWrites(t.path)).map((n) => `objects/info/${n}`),
  ];
  // repack's `finally` puts preciousObjects back, but a kill -9 skips it: a run killed anywhere in an
  // objstore's repack left it unprotected until its next repack, which may be weeks away.
  const preciousRestored = t.role === 'objstore' && cfg.precious !== 'no' && (await ensurePrecious(git, t.path));
  let level: RepackLevel = 'none';
  // A partial clone is checked (git fsck knows promised objects) but not repacked (repo/promisor.ts).
  if ((req.repack !== null || req.purge) && !isPromisorRepo(t.path)) {
    level = req.repack === 'auto' ? await countLevel(git, t.path) : (req.repack ?? 'none');
    // A purge repacks whatever the counts say: the objects to drop may be few.
    if (req.purge && level === 'none') level = 'quick';
    if (level !== 'none') await repack(git, t, level, cfg, req.purge === true);
  }
  if (!req.check) return { staleLocks, staleTemps, preciousRestored, repacked: level, checked: false, errors: [], reclone: false };
  const found = await check(git, t, req.connectivityOnly, cfg);
  return { staleLocks, staleTemps, preciousRestored, repacked: level, checked: true, ...found };
}
