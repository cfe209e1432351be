/**
 * The bench for killing grok-pull (test/reliability/crash-pull-*): an origin serving a collection of
 * 20 repositories (a fork network with its objstore and a private fork, and plain repositories), a
 * replica config with purge on, and one kill -9 followed by a pass to completion and the check that
 * the replica converged (convergence.ts).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningOrigin } from '../../origin/server/origin.js';
import type { CaseTable } from './case-table.js';
import { runBin, type CliResult } from './cli.js';
import { ageGitLeftovers, convergenceProblems } from './convergence.js';
import { BIN } from './fixture.js';
import { makeForkNetwork, type ForkNetwork } from './fork-network.js';
import { fsck, fsckConfig } from './fsck.js';
import { makeRepo } from './git.js';
import { BARE_NODE_ENV, spawnKillable } from './killable.js';
import { runM } from './manifest.js';
import { startTestOrigin } from './origin.js';
import { tmpDir } from './tmp.js';

/** git's words for a lock file in the way (see shared/repo/git-locks.ts isGitLockBusy). */
const GIT_LOCK_RE = /\.lock': File exists|cannot lock ref .*File exists|could not lock config file .*: File exists|packed-refs\.new: File exists/;

type T = Parameters<typeof tmpDir>[0] & { same(found: unknown, wanted: unknown, msg: string): unknown };

export interface PullCrashBench {
  readonly top: string;
  readonly manifest: string;
  readonly net: ForkNetwork;
  readonly plain: readonly string[];
  readonly origin: RunningOrigin;
  readonly mirror: string;
  readonly conf: string;
  /** Tells the origin about changed repositories, as their hooks would. */
  notify(paths: readonly string[]): Promise<void>;
  /** One grok-pull pass to its end. */
  pass(extra?: readonly string[]): Promise<CliResult & { ms: number }>;
  check(): Promise<string[]>;
  /** Kills a pass `delayMs` into it, runs the next one to completion, checks, records the case. */
  killAndConverge(label: string, delayMs: number, mode: 'group' | 'pid'): Promise<{ killed: boolean; ok: boolean }>;
  /** Time spent in convergence checks so far. */
  readonly checkMs: () => number;
}

export async function startPullCrashBench(t: T, table: CaseTable): Promise<PullCrashBench> {
  const dir = tmpDir(t, 'grok-crash-pull-');
  const top = path.join(dir, 'origin');
  const manifest = path.join(top, 'manifest.js.gz');
  const net = makeForkNetwork(top, { forks: 3, commits: 5 });
  const plain = Array.from({ length: 10 }, (_, i) => path.join(top, `plain/p${String(i).padStart(2, '0')}.git`));
  plain.forEach((r, i) => makeRepo(r, { commits: 2 + (i % 4), date: 1_650_000_000 + i * 1000 }));
  await runM(top, manifest);
  // grok-fsck on the origin puts the network into an objstore and names the forkgroup in the manifest.
  const grouped = await fsck(fsckConfig(top), { force: true });
  t.same(grouped.errors, [], 'the origin fsck groups the forks');
  const origin = await startTestOrigin(t, top);

  const mirror = path.join(dir, 'mirror');
  const conf = path.join(dir, 'replica.conf');
  writeFileSync(
    conf,
    `[core]\ntoplevel = ${mirror}\nmanifest = ${mirror}/manifest.js.gz\nprivate = */private/*\n` +
      `[remote]\nsite = ${origin.url}\nmanifest = ${origin.url}/manifest.js.gz\n` +
      `[pull]\nprojectslist = ${mirror}/projects.list\npull_threads = 2\npurge = yes\n`,
  );
  const notify = async (paths: readonly string[]) => {
    const res = await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths } });
    if (res.statusCode !== 200) throw new Error(`notify ${paths.join(' ')}: ${res.statusCode} ${res.payload}`);
  };
  const pass = async (extra: readonly string[] = []) => {
    const t0 = performance.now();
    const r = await runBin(BIN.pull, ['-c', conf, ...extra], { env: BARE_NODE_ENV });
    return { ...r, ms: performance.now() - t0 };
  };
  const originRefs = new Map<string, string>();
  const check = () =>
    convergenceProblems({ originTop: top, originManifest: manifest, mirror, mirrorManifest: path.join(mirror, 'manifest.js.gz'), projectsList: path.join(mirror, 'projects.list'), originRefs });
  let checkMs = 0;

  const killAndConverge = async (label: string, delayMs: number, mode: 'group' | 'pid') => {
    const run = spawnKillable(BIN.pull, ['-c', conf, '-v']);
    await Promise.race([run.ended, sleep(delayMs)]);
    const killed = run.kill(mode);
    await run.ended;
    // Orphaned git processes finish or fail on their own before the next pass (as they would before cron's next run).
    if (mode === 'pid' && !(await run.groupGone())) throw new Error(`${label}: orphans of the killed grok-pull still running after a minute`);
    const how = !killed ? 'the pass had finished before the kill' : mode === 'group' ? 'group killed' : 'grok-pull alone killed, its orphaned git left to end';
    let next = await pass();
    // A git killed inside a repository may leave its lock file; younger than a minute it is left alone
    // (by design) and that repository fails this pass. The pass after it, once the lock is old, is let come.
    let aged = 0;
    if (next.code !== 0 && GIT_LOCK_RE.test(next.stderr)) {
      aged = ageGitLeftovers(mirror);
      next = await pass();
    }
    const c0 = performance.now();
    const problems = next.code === 0 ? await check() : [`the next pass exited ${next.code}: ${next.stderr.trim().split('\n').slice(-3).join(' / ')}`];
    checkMs += performance.now() - c0;
    const ok = problems.length === 0;
    const passes = aged > 0 ? `a young git lock (${aged} files) failed the next pass; the one after, once it was a minute old,` : 'next pass';
    table.add(`${label}: kill at ${delayMs} ms (${mode})`, 'next pass exits 0; converged, clean, nothing left over', ok ? `${how}; ${passes} ${Math.round(next.ms)} ms, converged` : `${how}; ${passes}: ${problems.join('; ')}`, ok);
    t.same(problems, [], `${label}: kill at ${delayMs} ms (${mode}): converged`);
    return { killed, ok };
  };
  return { top, manifest, net, plain, origin, mirror, conf, notify, pass, check, killAndConverge, checkMs: () => checkMs };
}

/** Most kills take the whole group; every fifth takes grok-pull alone. */
export const killModeOf = (i: number): 'group' | 'pid' => (i % 5 === 4 ? 'pid' : 'group');
