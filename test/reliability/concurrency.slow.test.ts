/**
 * Issue 8, concurrency: many writers of one manifest at once lose no update, and no reader ever sees a
 * manifest it cannot parse. (a) 200 stand-alone `grok-manifest -n` hook runs, real processes started
 * together, no server: they serialise on the manifest lock and each splices its entry in. (b) 2000
 * notices, 50 in flight, to a running grok-origin (a real process) while pushes keep landing; the
 * change feed must tell a follower about every repository. (c) the same server while hooks hand
 * their paths over and stand-alone writers rewrite the file behind its back.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import t, { type Test } from 'tap';
import { handoffPathFor } from '../../origin/manifest/handoff.js';
import { CaseTable } from '../helpers/case-table.js';
import { runBin, runProcess, type CliResult } from '../helpers/cli.js';
import { makeChainCollection, pool, pushState, showRefFingerprint, type ChainCollection, type ChainRepo } from '../helpers/commit-chains.js';
import { followFeed } from '../helpers/feed-follower.js';
import { BIN } from '../helpers/fixture.js';
import { startOriginProcess } from '../helpers/origin-process.js';
import { GIT_ENV, fsckOk } from '../helpers/git.js';
import { stateChecker, watchFile, watchServed } from '../helpers/manifest-watch.js';
import { rng, seedFor } from '../helpers/seeded.js';
import { tmpDir } from '../helpers/tmp.js';

const SEED = seedFor(8_2024);
const table = new CaseTable('concurrency', 'Concurrency: many writers, one manifest (issue 8)');
t.comment(`seed ${SEED} (GROK_SEED to change)`);

function sample<T>(items: readonly T[], n: number, random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, n);
}

type Entry = { fingerprint: string; modified: number };
const readGz = (file: string) => JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as Record<string, Entry>;

/** Each repository's fingerprint as `git show-ref` gives it now (one process each, so read once). */
async function diskFingerprints(c: ChainCollection): Promise<Map<string, string>> {
  const fps = await pool(c.repos, 4, (r) => showRefFingerprint(r.path));
  return new Map(c.repos.map((r, i) => [r.key, fps[i]!]));
}

/** Every repository's entry against the repository itself: fingerprint from `git show-ref`, state `k`. */
function entriesMatch(c: ChainCollection, doc: Record<string, Entry>, disk: ReadonlyMap<string, string>, want: (r: ChainRepo) => number, modifiedOk: (r: ChainRepo, e: Entry) => boolean): string[] {
  const bad: string[] = [];
  for (const r of c.repos) {
    const e = doc[r.key];
    const fp = disk.get(r.key);
    if (fp !== r.fingerprints[want(r)]) bad.push(`${r.key}: repository is not in state ${want(r)}`);
    else if (!e) bad.push(`${r.key}: missing`);
    else if (e.fingerprint !== fp) bad.push(`${r.key}: fingerprint ${e.fingerprint} is state ${c.stateOf(r.key, e.fingerprint)}, repository has ${fp}`);
    else if (!modifiedOk(r, e)) bad.push(`${r.key}: modified ${e.modified}`);
  }
  return bad;
}

/** git fsck on a seeded sample (every repository shares one hardlinked pack; all would be slow). */
function fsckSample(t: Test, c: ChainCollection, n: number): void {
  const picked = sample(c.repos, n, rng(SEED));
  const bad = picked.filter((r) => !fsckOk(r.path).ok).map((r) => r.key);
  t.same(bad, [], `git fsck clean on ${n} sampled repositories`);
}

/** Where a case's time went, for the report (never asserted on). */
function laps(): { lap(name: string): void; toString(): string } {
  let last = Date.now();
  const out: string[] = [];
  return {
    lap(name) {
      const now = Date.now();
      out.push(`${name} ${((now - last) / 1000).toFixed(1)}s`);
      last = now;
    },
    toString: () => out.join(', '),
  };
}

/**
 * runBin for the hook processes started by the hundred, outside tap's per-process coverage hook: it
 * puts its --import back into NODE_OPTIONS on every spawn, so `env -u` drops it in between. Its
 * start-up and exit work, times 200 on two cores, more than doubled the run.
 */
function runHook(args: string[]): Promise<CliResult> {
  return runProcess('env', ['-u', 'NODE_OPTIONS', process.execPath, BIN.manifest, ...args], { env: GIT_ENV });
}

const leftovers = (top: string) => readdirSync(top).filter((n) => n.endsWith('.tmp'));

function originConf(dir: string, top: string): string {
  const conf = path.join(dir, 'grok.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${top}\nmanifest = ${path.join(top, 'manifest.js.gz')}\n[origin]\nlisten = 127.0.0.1:0\n`);
  return conf;
}

t.test('(a) 200 stand-alone hook runs at once: every update lands, every copy on disk parses', async (t) => {
  const dir = tmpDir(t, 'grok-conc-a-');
  const clock = laps();
  const c = makeChainCollection(dir, 200, 1);
  clock.lap('collection');
  const manifest = path.join(c.top, 'manifest.js.gz');
  const walk = await runBin(BIN.manifest, ['-m', manifest, '-t', c.top]);
  t.equal(walk.code, 0, walk.stderr);
  t.notOk(existsSync(handoffPathFor(manifest)), 'no grok-origin: the hooks write the file themselves');
  for (const r of c.repos) pushState(r, 1);
  clock.lap('walk');

  const disk = watchFile(manifest, stateChecker(c));
  const startSec = Math.floor(Date.now() / 1000);
  let running = 0;
  let maxRunning = 0;
  const results = await pool(c.repos, 200, async (r) => {
    maxRunning = Math.max(maxRunning, ++running);
    try {
      return await runHook(['-n', '-m', manifest, '-t', c.top, r.path]);
    } finally {
      running--;
    }
  });
  const endSec = Math.ceil(Date.now() / 1000);
  const seen = await disk.stop();
  clock.lap('hook runs');

  const failedRuns = results.map((res, i) => ({ res, key: c.repos[i]!.key })).filter(({ res }) => res.code !== 0);
  table.add('(a) 200 grok-manifest -n processes, no server', 'all exit 0', `${results.length - failedRuns.length}/${results.length} exited 0; up to ${maxRunning} running at once`, t.same(failedRuns.map((f) => `${f.key}: ${f.res.code} ${f.res.stderr}`), [], 'every hook run succeeded'));
  const final = readGz(manifest);
  const bad = entriesMatch(c, final, await diskFingerprints(c), () => 1, (_r, e) => e.modified >= startSec && e.modified <= endSec);
  table.add('(a) final manifest', 'every repo: fingerprint = git show-ref, modified = time of its hook run (-n)', bad.length === 0 ? '200/200 entries match their repositories' : bad.slice(0, 5).join('; '), t.same(bad, [], 'every update is in the manifest'));
  table.add('(a) manifest on disk during the run', 'every copy gunzips and parses; no update ever disappears again', `${seen.reads} reads, ${seen.versions} distinct versions, ${seen.failures.length} failures`, t.same(seen.failures, [], 'every copy read was whole and monotonic'));
  t.ok(seen.versions > 1, `watched the file change (${seen.versions} versions)`);
  table.add('(a) temp files', 'none left beside the manifest', `${leftovers(c.top).length} left`, t.same(leftovers(c.top), [], 'no temp files left'));
  fsckSample(t, c, 20);
  clock.lap('checks');
  t.comment(`(a) time: ${clock}`);
  t.comment(`(a) 200 hook runs (max ${maxRunning} at once): ${200 - bad.length}/200 updates present; ${seen.reads} manifest reads, ${seen.versions} versions, ${seen.failures.length} unparseable or regressed`);
});

t.test('(b) 2000 notices, 50 in flight, to a running grok-origin while pushes land; the feed misses nothing', async (t) => {
  const dir = tmpDir(t, 'grok-conc-b-');
  const clock = laps();
  const PUSHES = 10;
  const c = makeChainCollection(dir, 200, PUSHES);
  const manifest = path.join(c.top, 'manifest.js.gz');
  const walk = await runBin(BIN.manifest, ['-m', manifest, '-t', c.top]);
  t.equal(walk.code, 0, walk.stderr);
  clock.lap('collection and walk');
  const origin = await startOriginProcess(originConf(dir, c.top), { t });
  const feed = await followFeed(origin.url, `${origin.url}/manifest.js.gz`);
  const disk = watchFile(manifest, stateChecker(c));
  const served = watchServed(`${origin.url}/manifest.js.gz`, stateChecker(c));

  // Push k to every repository, then k+1: a repository's next push always follows its previous one,
  // while notices for earlier pushes are still in flight.
  const tasks = Array.from({ length: PUSHES }, (_, k) => c.repos.map((r) => ({ r, k: k + 1 }))).flat();
  const answers = await pool(tasks, 50, async ({ r, k }) => {
    pushState(r, k);
    const res = await fetch(`${origin.url}/_grok/notify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ paths: [r.path] }) });
    const body = (await res.json()) as { updated?: string[]; unchanged?: string[]; failed?: unknown[]; rejected?: unknown[] };
    const fine = res.status === 200 && (body.failed ?? []).length === 0 && (body.rejected ?? []).length === 0 && [...(body.updated ?? []), ...(body.unchanged ?? [])].includes(r.key);
    return fine ? null : `${r.key} push ${k}: ${res.status} ${JSON.stringify(body)}`;
  });
  clock.lap('notices');
  const refused = answers.filter((a): a is string => a !== null);
  table.add('(b) 2000 POST /_grok/notify, 50 in flight', 'every notice 200, naming its repository as updated or unchanged', `${tasks.length - refused.length}/${tasks.length} answered 200`, t.same(refused.slice(0, 5), [], 'every notice was taken'));

  const finalFp = (r: ChainRepo) => r.fingerprints[PUSHES]!;
  const finalDate = (r: ChainRepo) => r.dates[PUSHES]!;
  let caughtUp = true;
  await feed.until(() => c.repos.every((r) => feed.latest.get(r.key) === finalFp(r)), 30_000).catch(() => (caughtUp = false));
  await feed.stop();
  const [diskSeen, servedSeen] = [await disk.stop(), await served.stop()];

  const res = await fetch(`${origin.url}/manifest.js.gz`);
  const servedDoc = JSON.parse(gunzipSync(Buffer.from(await res.arrayBuffer())).toString('utf8')) as Record<string, Entry>;
  const onDisk = await diskFingerprints(c);
  const badServed = entriesMatch(c, servedDoc, onDisk, () => PUSHES, (r, e) => e.modified === finalDate(r));
  table.add('(b) served manifest at the end', 'every repo in its last state (fingerprint = git show-ref, modified = last commit)', badServed.length === 0 ? '200/200 match' : badServed.slice(0, 5).join('; '), t.same(badServed, [], 'served manifest holds every update'));
  const badDisk = entriesMatch(c, readGz(manifest), onDisk, () => PUSHES, (r, e) => e.modified === finalDate(r));
  table.add('(b) manifest on disk at the end', 'the same', badDisk.length === 0 ? '200/200 match' : badDisk.slice(0, 5).join('; '), t.same(badDisk, [], 'manifest on disk holds every update'));
  table.add('(b) manifest on disk during the run', 'every copy parses; no update disappears again', `${diskSeen.reads} reads, ${diskSeen.versions} versions, ${diskSeen.failures.length} failures`, t.same(diskSeen.failures, [], 'every copy on disk whole and monotonic'));
  table.add('(b) served manifest during the run (conditional GETs)', 'every copy gunzips and parses; monotonic', `${servedSeen.reads} 200s parsed, ${servedSeen.versions} versions, ${servedSeen.failures.length} failures`, t.same(servedSeen.failures, [], 'every served copy whole and monotonic'));
  const missed = c.repos.filter((r) => feed.latest.get(r.key) !== finalFp(r)).map((r) => r.key);
  table.add(
    '(b) SSE follower connected during the run',
    'an event for every changed repo, last one = final state (or a reset it recovers from)',
    `${feed.counts.changes} change events, ${feed.counts.resets} resets, ${feed.counts.reconnects} reconnects; ${200 - missed.length}/200 repos at their final state`,
    t.ok(caughtUp && missed.length === 0 && feed.errors.length === 0, `the feed told of every repository (${missed.slice(0, 3).join(', ')} ${feed.errors.join('; ')})`),
  );
  const code = await origin.stop();
  table.add('(b) SIGTERM after the run', 'exit 0, handoff file removed, nothing left unwritten', `exit ${code}; handoff file ${existsSync(handoffPathFor(manifest)) ? 'left' : 'removed'}`, t.ok(code === 0 && !existsSync(handoffPathFor(manifest)), 'clean stop'));
  const afterStop = entriesMatch(c, readGz(manifest), onDisk, () => PUSHES, (r, e) => e.modified === finalDate(r));
  t.same(afterStop, [], 'the manifest on disk still holds every update after the stop');
  t.same(leftovers(c.top), [], 'no temp files left');
  fsckSample(t, c, 20);
  clock.lap('checks');
  t.comment(`(b) time: ${clock}`);
  t.comment(`(b) ${tasks.length} notices (50 in flight): ${tasks.length - refused.length} taken, ${200 - badServed.length}/200 final states served; disk ${diskSeen.reads} reads/${diskSeen.versions} versions, served ${servedSeen.reads} reads/${servedSeen.versions} versions, 0 failures expected (${diskSeen.failures.length + servedSeen.failures.length}); feed ${feed.counts.changes} events, ${feed.counts.resets} resets`);
});

t.test('(c) a running grok-origin while hooks hand over and stand-alone writers rewrite the file', async (t) => {
  const dir = tmpDir(t, 'grok-conc-c-');
  const clock = laps();
  const N = 60;
  const PUSHES = 2;
  const c = makeChainCollection(dir, N, PUSHES);
  const manifest = path.join(c.top, 'manifest.js.gz');
  const walk = await runBin(BIN.manifest, ['-m', manifest, '-t', c.top]);
  t.equal(walk.code, 0, walk.stderr);
  clock.lap('collection and walk');
  const origin = await startOriginProcess(originConf(dir, c.top), { t });
  const feed = await followFeed(origin.url, `${origin.url}/manifest.js.gz`);
  const disk = watchFile(manifest, stateChecker(c));
  // Three kinds of writer, a third of the repositories each: notices straight to the server, the
  // hook (grok-manifest, which hands its path to the server), and grok-manifest --standalone, which
  // rewrites the file under the lock while the server holds its own copy in memory.
  const kinds = ['notice', 'hook', 'standalone'] as const;
  const kindOf = (r: ChainRepo) => kinds[r.index % 3]!;
  const tasks = Array.from({ length: PUSHES }, (_, k) => c.repos.map((r) => ({ r, k: k + 1 }))).flat();
  const problems = await pool(tasks, 24, async ({ r, k }) => {
    pushState(r, k);
    const kind = kindOf(r);
    if (kind === 'notice') {
      const res = await fetch(`${origin.url}/_grok/notify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ paths: [r.key] }) });
      return res.status === 200 ? null : `${r.key} notice: ${res.status} ${await res.text()}`;
    }
    const res = await runHook([kind === 'standalone' ? '--standalone' : '-v', '-m', manifest, '-t', c.top, r.path]);
    if (res.code !== 0) return `${r.key} ${kind}: exit ${res.code} ${res.stderr}`;
    if (kind === 'hook' && !/grok-origin took the notice/.test(res.stderr)) return `${r.key} hook: not handed over: ${res.stderr}`;
    return null;
  });
  clock.lap('writes');
  const failed = problems.filter((p): p is string => p !== null);
  table.add(`(c) ${N * PUSHES} writes: a third each notices, hook runs (handoff), --standalone runs; 24 at once`, 'all succeed; hooks hand over to the server', `${tasks.length - failed.length}/${tasks.length} fine`, t.same(failed.slice(0, 5), [], 'every writer succeeded'));

  // The server learns of stand-alone writes from its file watcher, its once-a-second look at the file
  // and its own next write; give it until the feed has them all.
  const finalFp = (r: ChainRepo) => r.fingerprints[PUSHES]!;
  let caughtUp = true;
  await feed.until(() => c.repos.every((r) => feed.latest.get(r.key) === finalFp(r)), 30_000).catch(() => (caughtUp = false));
  await feed.stop();
  const diskSeen = await disk.stop();
  const res = await fetch(`${origin.url}/manifest.js.gz`);
  const servedDoc = JSON.parse(gunzipSync(Buffer.from(await res.arrayBuffer())).toString('utf8')) as Record<string, Entry>;
  const finalDate = (r: ChainRepo) => r.dates[PUSHES]!;
  const onDisk = await diskFingerprints(c);
  const badServed = entriesMatch(c, servedDoc, onDisk, () => PUSHES, (r, e) => e.modified === finalDate(r));
  table.add('(c) served manifest at the end', 'every repo in its last state, whoever wrote it', badServed.length === 0 ? `${N}/${N} match` : badServed.slice(0, 5).join('; '), t.same(badServed, [], 'served manifest holds every update'));
  const code = await origin.stop();
  const badDisk = entriesMatch(c, readGz(manifest), onDisk, () => PUSHES, (r, e) => e.modified === finalDate(r));
  table.add('(c) manifest on disk after SIGTERM', 'every repo in its last state', badDisk.length === 0 ? `${N}/${N} match; exit ${code}` : badDisk.slice(0, 5).join('; '), t.same(badDisk, [], 'manifest on disk holds every update') && t.equal(code, 0));
  table.add('(c) manifest on disk during the run', 'every copy parses; no update disappears again', `${diskSeen.reads} reads, ${diskSeen.versions} versions, ${diskSeen.failures.length} failures`, t.same(diskSeen.failures, [], 'every copy on disk whole and monotonic'));
  const missed = c.repos.filter((r) => feed.latest.get(r.key) !== finalFp(r)).map((r) => r.key);
  table.add('(c) SSE follower', 'learns the final state of every repo, stand-alone writes included', `${feed.counts.changes} change events, ${feed.counts.resets} resets; ${N - missed.length}/${N} at final state`, t.ok(caughtUp && missed.length === 0, `feed complete (${missed.slice(0, 3).join(', ')})`));
  t.same(leftovers(c.top), [], 'no temp files left');
  fsckSample(t, c, 10);
  clock.lap('checks');
  t.comment(`(c) time: ${clock}`);
  t.comment(`(c) ${tasks.length} mixed writes: ${N - badDisk.length}/${N} final states on disk, ${N - badServed.length}/${N} served; ${diskSeen.reads} disk reads, ${diskSeen.failures.length} failures`);
});

t.teardown(() => {
  const file = table.write(`Seed ${SEED}. Produced by test/reliability/concurrency.test.ts.`);
  t.comment(`concurrency: ${table.rows.length} cases, ${table.passed} as expected (${file})`);
});
