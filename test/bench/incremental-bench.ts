/**
 * The incremental pass (issue 19): `changed` of the mirrored repositories move at the origin, and one
 * `grok-pull` pass fetches them; its floor is the raw `git fetch` of the same repositories, 4 at a time
 * (xargs -P4, no node in it), measured in the same round. The main table's row comes from here, and
 * `npm run bench -- --only=incremental` runs just this (it builds the collection, starts grok-origin,
 * mirrors, measures) and rewrites its section of BENCHMARKS.md.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mapPool } from '../../shared/pool.js';
import { BIN, REPO_ROOT } from '../helpers/fixture.js';
import { GIT_ENV } from '../helpers/git.js';
import { makeCollection } from './gen.js';
import { median, timeProcess, type Sample } from './measure.js';
import { writeSection } from './sections.js';
import { startServer, stopProcess } from './server.js';

export interface IncrementalFigures {
  readonly repos: number;
  readonly changed: number;
  readonly rounds: number;
  readonly ms: number;
  readonly floorMs: number;
  /** user + system CPU of the pass and of the floor, git included (medians): steadier than wall time on a busy machine */
  readonly cpuMs: number | null;
  readonly floorCpuMs: number | null;
  /** Median of the per-round ratios (pass / floor of the same round). */
  readonly roundRatio: number;
}

export interface IncrementalSetup {
  readonly work: string;
  readonly top: string;
  readonly repos: readonly string[];
  /** grok-origin serving `top`, and its notice token. */
  readonly url: string;
  readonly token: string;
  /** A replica config whose mirror already holds every repository. */
  readonly rconf: string;
  /** The floor's mirrors (git clone --mirror of each repository, under the same relative paths). */
  readonly floorDir: string;
  readonly threads: number;
  readonly rounds: number;
  /** One untimed round first (mirrors kept from another run point at another port: that round fixes them). */
  readonly warmup?: boolean;
}

export function gitAsync(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn('git', args, { env: GIT_ENV, stdio: 'ignore' });
    c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`git ${args.join(' ')}: ${code}`))));
  });
}

/**
 * The origin's notice for `paths`. Rounds are seconds apart, longer than the origin keeps an idle
 * connection: fetch may reuse the socket it is closing (undici's "other side closed"), so that one is
 * tried again on a new connection.
 */
export async function notify(url: string, token: string, paths: readonly string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(`${url}/_grok/notify`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ paths }) });
      if (res.status !== 200) throw new Error(`notify ${res.status}`);
      await res.arrayBuffer();
      return;
    } catch (err) {
      if (attempt >= 3 || !(err instanceof TypeError)) throw err;
    }
  }
}

/**
 * One in 20 repositories changes: a branch moves to another of the changed ones' tips (on the origin
 * every repo holds the whole seed history; a replica may have to fetch a few commits), round after
 * round; each round is timed for grok-pull and then for the floor's fetches of the same change.
 */
export async function measureIncremental(s: IncrementalSetup): Promise<IncrementalFigures> {
  const changed = s.repos.filter((_, i) => i % 20 === 0);
  const tips = changed.map((r) => readFileSync(path.join(r, 'refs/heads/master'), 'utf8').trim());
  const incs: Sample[] = [];
  const floors: Sample[] = [];
  const floorList = path.join(s.work, 'floor-fetch-list');
  writeFileSync(floorList, changed.map((r) => `${path.join(s.floorDir, path.relative(s.top, r))}\n`).join(''));
  const first = s.warmup ? -1 : 0;
  for (let round = first; round < s.rounds; round++) {
    changed.forEach((r, i) => writeFileSync(path.join(r, 'refs/heads/bench'), `${tips[(i + round + tips.length) % tips.length]}\n`));
    await notify(s.url, s.token, changed);
    if (round < 0) {
      timeProcess([process.execPath, BIN.pull, '-c', s.rconf]);
      timeProcess(['xargs', '-a', floorList, '-P', String(s.threads), '-I{}', 'git', '--git-dir={}', 'fetch', '-q', '--prune', 'origin']);
      continue;
    }
    incs.push(timeProcess([process.execPath, BIN.pull, '-c', s.rconf]));
    floors.push(timeProcess(['xargs', '-a', floorList, '-P', String(s.threads), '-I{}', 'git', '--git-dir={}', 'fetch', '-q', '--prune', 'origin']));
  }
  const cpuOf = (xs: Sample[]) => (xs.every((x) => x.cpuMs !== null) ? median(xs.map((x) => x.cpuMs!)) : null);
  return {
    repos: s.repos.length,
    changed: changed.length,
    rounds: s.rounds,
    ms: median(incs.map((x) => x.ms)),
    floorMs: median(floors.map((x) => x.ms)),
    cpuMs: cpuOf(incs),
    floorCpuMs: cpuOf(floors),
    roundRatio: median(incs.map((x, i) => x.ms / floors[i]!.ms)),
  };
}

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

/** The main table's row (and the section's). */
export function incrementalRow(f: IncrementalFigures): { scenario: string; ours: string; floor: string; baseline: string; target: string; verdict: string } {
  const cpu = f.cpuMs === null || f.floorCpuMs === null ? 'n/a' : `${fmt(f.cpuMs)}, ${(f.cpuMs / f.floorCpuMs).toFixed(2)}x the floor's`;
  return {
    scenario: `grok-pull: ${f.changed} of ${f.repos} changed, one pass`,
    ours: `${fmt(f.ms)} (${(f.ms / f.floorMs).toFixed(2)}x the floor; CPU ${cpu})`,
    floor: `${fmt(f.floorMs)} (xargs -P4 git fetch of the ${f.changed}; CPU ${f.floorCpuMs === null ? 'n/a' : fmt(f.floorCpuMs)})`,
    baseline: 'grokmirror 2.x: ~10.9 s',
    target: 'within 1.3x of the floor',
    verdict: f.ms <= 1.3 * f.floorMs ? 'met' : 'missed',
  };
}

/** The replica config of the pull benchmarks: `mirror` fed by grok-origin at `url`. */
export function writeReplicaConf(file: string, mirror: string, url: string, threads: number, extra = ''): void {
  writeFileSync(file, `[core]\ntoplevel = ${mirror}\nmanifest = \${toplevel}/manifest.js.gz\n[remote]\nsite = ${url}\nmanifest = \${site}/manifest.js.gz\n[pull]\npull_threads = ${threads}\n${extra}`);
}

/** grok-origin on `top` (its manifest under work/pull-origin); stop `child` when done. */
export async function startPullOrigin(work: string, top: string): Promise<{ url: string; token: string; child: ReturnType<typeof spawn> }> {
  const conf = path.join(work, 'pull-origin.conf');
  const originDir = path.join(work, 'pull-origin');
  rmSync(originDir, { recursive: true, force: true });
  mkdirSync(originDir, { recursive: true });
  writeFileSync(conf, `[core]\ntoplevel = ${top}\nmanifest = ${path.join(originDir, 'manifest.js.gz')}\n[origin]\nlisten = 127.0.0.1:0\n`);
  const { url, child } = await startServer(conf);
  const token = (JSON.parse(readFileSync(path.join(originDir, '.manifest.js.gz.origin'), 'utf8')) as { token: string }).token;
  return { url, token, child };
}

/** The floor's mirrors: git clone --mirror of every repository, `threads` at a time; returns the wall time. */
export async function cloneFloor(url: string, top: string, repos: readonly string[], floorDir: string, threads: number): Promise<number> {
  rmSync(floorDir, { recursive: true, force: true });
  const t0 = performance.now();
  await mapPool(repos.map((r) => path.relative(top, r)), threads, (k) => gitAsync(['clone', '-q', '--mirror', `${url}/${k}`, path.join(floorDir, k)]));
  return performance.now() - t0;
}

/** `--only=incremental`: the collection, grok-origin, both mirrors, the rounds, the section. */
export async function benchIncrementalSection(work: string, quick: boolean): Promise<void> {
  const count = quick ? 200 : 1000;
  const threads = 4;
  const top = path.join(work, `top${count}`);
  console.log(`incremental: collection of ${count} under ${top} ...`);
  const repos = makeCollection(top, count);
  for (const r of repos) rmSync(path.join(r, 'refs/heads/bench'), { force: true });
  const { url, token, child } = await startPullOrigin(work, top);
  try {
    const mirror = path.join(work, `mirror${count}`);
    const rconf = path.join(work, 'pull-replica.conf');
    writeReplicaConf(rconf, mirror, url, threads);
    // Mirrors left by an earlier run are kept (building them is most of the time here): the first
    // pass catches up, and the floor's changed mirrors are pointed at this run's origin.
    timeProcess([process.execPath, BIN.pull, '-c', rconf]);
    const floorDir = path.join(work, `floor${count}`);
    if (existsSync(floorDir)) {
      for (const r of repos.filter((_, i) => i % 20 === 0)) {
        const k = path.relative(top, r);
        await gitAsync(['--git-dir', path.join(floorDir, k), 'remote', 'set-url', 'origin', `${url}/${k}`]);
      }
    } else {
      await cloneFloor(url, top, repos, floorDir, threads);
    }
    const load = os.loadavg().map((x) => x.toFixed(1)).join(', ');
    const f = await measureIncremental({ work, top, repos, url, token, rconf, floorDir, threads, rounds: quick ? 3 : 7, warmup: true });
    const noChange = median(Array.from({ length: quick ? 3 : 7 }, () => timeProcess([process.execPath, BIN.pull, '-c', rconf]).ms));
    const nodeStart = median(Array.from({ length: quick ? 3 : 7 }, () => timeProcess([process.execPath, '-e', '0']).ms));
    const loadAfter = os.loadavg().map((x) => x.toFixed(1)).join(', ');
    const row = incrementalRow(f);
    console.log(`${row.scenario}: ${row.ours}; floor ${row.floor}; per-round ratio ${f.roundRatio.toFixed(2)}; nothing changed ${fmt(noChange)}; node -e 0 ${fmt(nodeStart)}`);
    if (quick) return;
    writeIncrementalSection(f, { noChange, nodeStart, load, loadAfter, how: '`npm run bench -- --only=incremental`' });
  } finally {
    await stopProcess(child);
  }
}

/** BENCHMARKS.md's incremental section (from --only=incremental, or from the full run's figures). */
export function writeIncrementalSection(f: IncrementalFigures, m: { noChange: number; nodeStart: number; load: string; loadAfter: string; how: string }): void {
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  writeSection(path.join(REPO_ROOT, 'BENCHMARKS.md'), 'incremental', incrementalSection(f, m, commit));
}

function incrementalSection(f: IncrementalFigures, m: { noChange: number; nodeStart: number; load: string; loadAfter: string; how: string }, commit: string): string {
  const row = incrementalRow(f);
  return `## Incremental pass

${m.how} on ${new Date().toISOString().slice(0, 10)}, commit ${commit}; load average ${m.load} before, ${m.loadAfter} after.
Medians of ${f.rounds} rounds; each round moves a branch in ${f.changed} of ${f.repos} repositories, notifies grok-origin, then
times one \`grok-pull\` pass and the floor's fetches of the same change.

| scenario | grokmirror-ts | floor | target | |
|---|---|---|---|---|
| ${row.scenario} | ${row.ours} | ${row.floor} | ${row.target} | ${row.verdict} |

Per-round ratio (each pass over the floor of its own round), median: ${f.roundRatio.toFixed(2)}x. The fixed part, in the same
run: a pass with nothing to do (304) ${fmt(m.noChange)}; \`node -e 0\` ${fmt(m.nodeStart)}.
`;
}
