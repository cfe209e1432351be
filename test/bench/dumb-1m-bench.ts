/**
 * grok-dumb-pull list mode over a million URLs, all on one synthetic upstream (synthetic-upstream.ts,
 * its own process on 127.0.0.1). What a sweep of 1M costs on our side: URLs/s, peak RSS, and the bytes
 * written (GNU time's %O: the kernel's write_bytes of grok-dumb-pull and its git children).
 *
 * Cloning a million repositories is out of reach here (1000 clones take ~30 s: 1M would take 8 h),
 * so the sweeps start from a seeded state, the one a finished sweep leaves: the list taken into the
 * state database (1M new rows, timed) and each row marked mirrored with the refs digest of what its
 * path advertises; on disk, each URL's mirror path holds a mirror: a real copy (`git clone --mirror`
 * of its backing repository) for every path the rounds will change, a symlink to one of the
 * `TEMPLATES` identical real mirrors for every other (a sweep only stats those: their refs digest
 * matches). Rounds:
 * - round 1: `--all`, nothing changed: 1M probes, every one unchanged, no fetch, no row written;
 * - round 2: `--all`, `FRACTION` of the paths changed: each fetched for real from git upload-pack;
 * - round 3: no `--all`, right after: the schedule makes nothing due (one count over the table).
 * Run: `BENCH_DUMB=1m npm run bench:dumb`; BENCH_URLS, BENCH_FRACTION and BENCH_JOBS override the
 * sizes (then BENCHMARKS.md is left alone). Writes bench-out/dumb-1m.md.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAdvertisement } from '../../replica/dumb/http-refs.js';
import { advertisedDigest } from '../../replica/dumb/refs-digest.js';
import type { UrlRow } from '../../replica/dumb/row-update.js';
import { listDigest } from '../../replica/dumb/run-list.js';
import { openStateDb } from '../../replica/dumb/state-db.js';
import { parseUrlList } from '../../replica/dumb/url-list.js';
import { keyToPath } from '../../shared/manifest/keys.js';
import { BIN, REPO_ROOT } from '../helpers/fixture.js';
import { fsckOk, gitDir, git, makeRepo, pushCommit } from '../helpers/git.js';
import { timeProcess, type Sample } from './measure.js';
import { writeSection } from './sections.js';
import { startListening, stopProcess } from './server.js';
import { backingRepo, changedIn, numberOf, pathOf, templateOf, type SyntheticPlan } from './synthetic-paths.js';

const N = Number(process.env.BENCH_URLS ?? 1_000_000);
const FRACTION = Number(process.env.BENCH_FRACTION ?? 0.001);
const JOBS = Number(process.env.BENCH_JOBS ?? 32);
const TEMPLATES = 16;
const ROUNDS = 2;
const WOC_PER_SERVER = 7.7;
const plan: SyntheticPlan = { templates: TEMPLATES, fraction: FRACTION };

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mb = (bytes: number | null) => (bytes === null ? 'n/a' : `${(bytes / 1e6).toFixed(1)} MB`);
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(', ');
const note = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

/** The backing repositories: per template, version 1 (a few commits, j % 8 tags) and one more commit per round. */
function makeBacking(dir: string): void {
  for (let t = 0; t < TEMPLATES; t++) {
    const v1 = path.join(dir, backingRepo(1, t));
    makeRepo(v1, { commits: 2, file: `t${t}.txt` });
    for (let i = 0; i < t % 8; i++) gitDir(v1, ['update-ref', `refs/tags/v${i}`, 'HEAD']);
    for (let v = 2; v <= ROUNDS; v++) {
      const next = path.join(dir, backingRepo(v, t));
      git(['clone', '-q', '--mirror', path.join(dir, backingRepo(v - 1, t)), next]);
      pushCommit(next, { message: `round ${v}` });
    }
  }
}

async function startUpstream(backing: string): Promise<{ base: string; child: ChildProcess }> {
  const { url, child } = await startListening([path.join(REPO_ROOT, 'dist/test/bench/synthetic-upstream.js'), backing, String(TEMPLATES), String(FRACTION), String(ROUNDS)]);
  return { base: url, child };
}

interface Stats {
  infoRefs: number;
  uploadPacks: number;
  notFound: number;
}
const stats = async (base: string) => (await (await fetch(`${base}/-/stats`)).json()) as Stats;
const setRound = async (base: string, r: number) => void (await fetch(`${base}/-/round/${r}`, { method: 'POST' })).text();

/** The sweep's closing line: "<n> fetched, <n> unchanged, ... (...; <n> state rows written)". */
function summary(s: Sample): { fetched: number; unchanged: number; failed: number; notDue: number; rows: number; line: string } {
  const m = /(\d+) fetched, (\d+) unchanged, .*?(\d+) failed, .*?(\d+) not due in .*?(\d+) state rows written/.exec(s.output);
  if (!m) throw new Error(`no summary line in the sweep's output:\n${s.output.slice(-2000)}`);
  const [, fetched, unchanged, failed, notDue, rows] = m.map(Number) as number[];
  return { fetched: fetched!, unchanged: unchanged!, failed: failed!, notDue: notDue!, rows: rows!, line: m[0] };
}

const fileSize = (f: string) => {
  try {
    return statSync(f).size;
  } catch {
    return 0;
  }
};

async function main(): Promise<void> {
  const free = Number(execFileSync('df', ['--output=avail', '-B1', os.tmpdir()], { encoding: 'utf8' }).trim().split('\n').pop());
  if (free < 8e9) throw new Error(`${os.tmpdir()} has ${mb(free)} free; the 1M bench wants 8 GB`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'grok-dumb-1m-'));
  let server: ChildProcess | null = null;
  // Interrupted: the server and the million-entry temp dir go too (handled once the running sweep returns).
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      server?.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  }
  try {
    const loadBefore = load();
    const backing = path.join(dir, 'backing');
    makeBacking(backing);
    const up = await startUpstream(backing);
    server = up.child;
    note(`synthetic upstream at ${up.base}`);

    const list = path.join(dir, 'urls.txt');
    writeFileSync(list, Array.from({ length: N }, (_, n) => `${up.base}${pathOf(n)}\n`).join(''));
    const parsed = parseUrlList(readFileSync(list, 'utf8'));
    if (parsed.items.length !== N) throw new Error(`the list parsed to ${parsed.items.length} URLs, not ${N}`);

    // On disk: the template mirrors, then one mirror path per URL.
    const templates = path.join(dir, 'templates');
    const templateConfig: string[] = [];
    for (let t = 0; t < TEMPLATES; t++) {
      const m = path.join(templates, `t${t}.git`);
      git(['clone', '-q', '--mirror', path.join(backing, backingRepo(1, t)), m]);
      templateConfig.push(readFileSync(path.join(m, 'config'), 'utf8'));
    }
    const top = path.join(dir, 'top');
    const changing = new Set<number>();
    let t0 = Date.now();
    let lastParent = '';
    for (const it of parsed.items) {
      const n = numberOf(new URL(it.url).pathname)!;
      const t = templateOf(plan, n);
      const target = keyToPath(top, it.key);
      const parent = path.dirname(target);
      if (parent !== lastParent) mkdirSync((lastParent = parent), { recursive: true });
      let changes = false;
      for (let r = 2; r <= ROUNDS; r++) changes ||= changedIn(plan, n, r);
      if (!changes) {
        symlinkSync(path.join(templates, `t${t}.git`), target);
        continue;
      }
      changing.add(n);
      cpSync(path.join(templates, `t${t}.git`), target, { recursive: true });
      // The copy fetches from its own URL, as a mirror cloned from it would.
      writeFileSync(path.join(target, 'config'), templateConfig[t]!.replace(path.join(backing, backingRepo(1, t)), it.url));
    }
    const layoutMs = Date.now() - t0;
    note(`toplevel laid out in ${secs(layoutMs)} (${changing.size} real mirror copies)`);

    // The state a finished sweep leaves: the list taken in (all new rows), then each row mirrored.
    const stateFile = path.join(dir, 'state.sqlite');
    const digests: string[] = [];
    for (let t = 0; t < TEMPLATES; t++) {
      const res = await fetch(`${up.base}${pathOf(t)}/info/refs?service=git-upload-pack`);
      digests.push(advertisedDigest(parseAdvertisement(Buffer.from(await res.arrayBuffer()))!));
    }
    const db = await openStateDb(stateFile);
    t0 = Date.now();
    db.syncList(listDigest(parsed.items, parsed.refused), parsed.items, parsed.refused);
    const importMs = Date.now() - t0;
    const seededAt = Date.now() - 30 * 86_400_000;
    const rows: UrlRow[] = parsed.items.map((it) => {
      const n = numberOf(new URL(it.url).pathname)!;
      return { url: it.url, key: it.key, state: 'unchanged', digest: digests[templateOf(plan, n)]!, attempts: 1, failures: 0, lastError: null, lastChanged: seededAt, nextCheck: null };
    });
    db.write(rows);
    rows.length = 0;
    db.setMeta('sweep_from', String(seededAt));
    db.close();
    const dbSize = fileSize(stateFile);
    note(`list of ${N} taken into a new state database in ${secs(importMs)}; seeded: ${mb(dbSize)}`);

    const sweep = (...extra: string[]) =>
      timeProcess([process.execPath, BIN.dumbPull, '--list', list, '--toplevel', top, '--state', stateFile, '-j', String(JOBS), '--per-host', String(JOBS), '-v', ...extra]);
    const rounds: { name: string; s: Sample; sum: ReturnType<typeof summary>; served: Stats; dbGrowth: number }[] = [];
    const run = async (name: string, round: number, ...extra: string[]) => {
      await setRound(up.base, round);
      const before = await stats(up.base);
      const size = fileSize(stateFile);
      const s = sweep(...extra);
      const after = await stats(up.base);
      const served = { infoRefs: after.infoRefs - before.infoRefs, uploadPacks: after.uploadPacks - before.uploadPacks, notFound: after.notFound - before.notFound };
      const sum = summary(s);
      rounds.push({ name, s, sum, served, dbGrowth: fileSize(stateFile) - size });
      note(`${name}: ${secs(s.ms)}, ${(N / (s.ms / 1000)).toFixed(0)} URLs/s, peak RSS ${mb((s.rssKb ?? 0) * 1024)}, written ${mb(s.writtenBytes)}; ${sum.line}; upstream served ${JSON.stringify(served)}`);
      return sum;
    };

    const size = N >= 1e6 ? `${N / 1e6}M` : String(N);
    const r1 = await run(`round 1: ${size} URLs, none changed (--all)`, 1, '--all');
    if (r1.unchanged !== N || r1.rows !== 0) throw new Error(`round 1 should find all ${N} unchanged and write no row: ${r1.line}`);
    const changed = [...changing].filter((n) => changedIn(plan, n, 2));
    const r2 = await run(`round 2: ${size} URLs, ${changed.length} changed (--all)`, 2, '--all');
    if (r2.fetched !== changed.length || r2.unchanged !== N - changed.length || r2.rows !== changed.length) throw new Error(`round 2 should fetch and write exactly the ${changed.length} changed: ${r2.line}`);
    const r3 = await run('round 3: right after, without --all (nothing due)', 2);
    if (r3.notDue !== N) throw new Error(`round 3 should find nothing due: ${r3.line}`);

    // The changed mirrors hold what their backing repository holds now; a sample is fsck-clean.
    for (const [i, n] of changed.entries()) {
      const mirror = keyToPath(top, parsed.items[n]!.key);
      const want = gitDir(path.join(backing, backingRepo(2, templateOf(plan, n))), ['for-each-ref', '--format=%(objectname) %(refname)']);
      if (gitDir(mirror, ['for-each-ref', '--format=%(objectname) %(refname)']) !== want) throw new Error(`${mirror}: refs differ from its upstream's`);
      if (i < 20 && !fsckOk(mirror).ok) throw new Error(`${mirror}: git fsck failed`);
    }
    for (let t = 0; t < TEMPLATES; t++) {
      if (gitDir(path.join(templates, `t${t}.git`), ['rev-parse', 'HEAD']) !== gitDir(path.join(backing, backingRepo(1, t)), ['rev-parse', 'HEAD'])) throw new Error(`template ${t} moved`);
    }
    const loadAfter = load();
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const rate = (s: Sample) => N / (s.ms / 1000);
    const md = [
      `## grok-dumb-pull: one sweep of ${(N / 1e6).toFixed(N % 1e6 ? 2 : 0)}M URLs against a synthetic upstream`,
      '',
      `\`BENCH_DUMB=1m npm run bench:dumb\` on ${new Date().toISOString().slice(0, 10)}, commit ${commit}. Machine: ${os.availableParallelism()} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version};`,
      `load average ${loadBefore} before, ${loadAfter} after (other work shares the machine and the upstream server runs on it too: rates are a floor).`,
      `-j ${JOBS} --per-host ${JOBS}, every URL on one host (the synthetic upstream, its own process on 127.0.0.1). Bytes written: GNU time's`,
      '%O (the kernel\'s write_bytes accounting of grok-dumb-pull and its git children: the state database and its WAL, and in',
      'round 2 the fetched objects too); the database file\'s growth beside it.',
      '',
      '| sweep | wall | URLs/s | CPU | peak RSS | bytes written | database file growth | state rows written | upstream served |',
      '|---|---|---|---|---|---|---|---|---|',
      ...rounds.map(
        (r) =>
          `| ${r.name} | ${secs(r.s.ms)} | ${r.sum.notDue === N ? '- (none due)' : rate(r.s).toFixed(0)} | ${r.s.cpuMs === null ? 'n/a' : secs(r.s.cpuMs)} | ${mb((r.s.rssKb ?? 0) * 1024)} | ${mb(r.s.writtenBytes)} | ${mb(r.dbGrowth)} | ${r.sum.rows} | ${r.served.infoRefs} info/refs, ${r.served.uploadPacks} upload-packs |`,
      ),
      '',
      `- Seeding (not a sweep): the list of ${N} URLs taken into a new state database (every row new) in ${secs(importMs)}; the seeded database is ${mb(dbSize)}; the toplevel laid out in ${secs(layoutMs)}.`,
      `- Per machine: ${rate(rounds[0]!.s).toFixed(0)} URLs/s in round 1 and ${rate(rounds[1]!.s).toFixed(0)} in round 2, against World of Code's ${WOC_PER_SERVER} URLs/s per server`,
      `  (40M URLs in 24 h on 60 servers): ${(rate(rounds[1]!.s) / WOC_PER_SERVER).toFixed(0)}x. Not like for like: WoC's upstreams are real forges over the internet, with`,
      '  their rate limits and latency, and a larger share changes; here the upstream answers from memory on loopback. The figure',
      '  is what our side costs per URL: a million probes take one machine minutes, so the upstream, not the sweep, sets the pace.',
      '',
    ].join('\n');
    process.stdout.write(md);
    mkdirSync(path.join(REPO_ROOT, 'bench-out'), { recursive: true });
    writeFileSync(path.join(REPO_ROOT, 'bench-out', 'dumb-1m.md'), md);
    if (!['BENCH_URLS', 'BENCH_FRACTION', 'BENCH_JOBS'].some((v) => process.env[v])) writeSection(path.join(REPO_ROOT, 'BENCHMARKS.md'), 'dumb-1m', md);
  } finally {
    if (server) await stopProcess(server);
    note(`removing ${dir}`);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (!process.env.BENCH_DUMB || process.env.BENCH_DUMB.split(',').includes('1m')) await main();
