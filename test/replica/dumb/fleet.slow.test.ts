/**
 * The fleet (`--state postgres://...`) end to end, on a real PostgreSQL cluster: 3 workers share
 * 20000 URLs of a synthetic upstream on one toplevel, a fraction of them new and backed by real
 * repositories; one worker is killed with -9 mid-round. At the end every URL was asked, every new
 * one cloned exactly once except those of a lease the dead worker held (taken over, at most
 * twice), no row left pending or failed, every lease done, the mirrors git fsck clean. Then 2 shard
 * sets on 2 toplevels split one list with no URL mirrored in both; and two workers on one toplevel
 * through the CLI, the database password in no output.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import t from 'tap';
import { parseAdvertisement } from '../../../replica/dumb/http-refs.js';
import { openPgState } from '../../../replica/dumb/pg-state.js';
import { advertisedDigest } from '../../../replica/dumb/refs-digest.js';
import { SHARD_FILE, shardOf } from '../../../replica/dumb/shards.js';
import { parseUrlList } from '../../../replica/dumb/url-list.js';
import { keyToPath } from '../../../shared/manifest/keys.js';
import { runBin } from '../../helpers/cli.js';
import { gitShim, loggedSubcommands, makeUpstreams, writeUpstreamManifest } from '../../helpers/dumb-upstreams.js';
import { BIN } from '../../helpers/fixture.js';
import { fsckOk, makeRepo } from '../../helpers/git.js';
import { spawnKillable } from '../../helpers/killable.js';
import { startTestOrigin } from '../../helpers/origin.js';
import { pgSkip, startPostgres, type Cluster } from '../../helpers/postgres.js';
import { startSyntheticUpstream } from '../../helpers/synthetic-upstream.js';
import { tmpDir } from '../../helpers/tmp.js';

const N = 20_000;
const CHANGED = 120;
const PASSWORD = 's3cr3t-Pa55';

let cluster: Cluster;
let dbs = 0;
const freshDb = () => {
  const db = `f${++dbs}`;
  cluster.psql(`CREATE DATABASE ${db}`);
  return { db, url: cluster.url({ db, password: PASSWORD }) };
};

/** Clones and fetches per URL, from the git shim's log: a clone names its URL, a fetch its directory (--git-dir=). */
function transfers(log: string, urlToDir: Map<string, string>): Map<string, number> {
  const dirToUrl = new Map([...urlToDir].map(([u, d]) => [d, u]));
  const out = new Map<string, number>();
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const words = line.split(' ').filter((w) => w !== '');
    let i = 0;
    while (i < words.length && words[i]!.startsWith('-')) i += words[i] === '-c' ? 2 : 1;
    let url: string | undefined;
    if (words[i] === 'clone') url = words.find((w) => urlToDir.has(w));
    else if (words[i] === 'fetch') url = dirToUrl.get(words.find((w) => w.startsWith('--git-dir='))?.slice('--git-dir='.length) ?? '');
    if (url !== undefined) out.set(url, (out.get(url) ?? 0) + 1);
  }
  return out;
}

t.test('the fleet on PostgreSQL', { skip: pgSkip }, async (t) => {
  cluster = await startPostgres(t);
  const dir = tmpDir(t, 'grok-fleet-');
  const up = path.join(dir, 'up');
  const realKeys = makeUpstreams(up, CHANGED);
  await writeUpstreamManifest(up);
  const origin = await startTestOrigin(t, up);
  const synth = await startSyntheticUpstream(origin.url);
  t.teardown(() => synth.close());

  t.test(`3 workers share ${N} URLs on one toplevel; one is killed with -9 mid-round`, async (t) => {
    const top = path.join(dir, 'one');
    mkdirSync(top);
    const urls = Array.from({ length: N }, (_, i) => `${synth.url}/s/${i}.git`);
    const step = Math.floor(N / CHANGED);
    const changed = new Set<string>();
    realKeys.forEach((k, j) => {
      synth.backed.set(`/s/${j * step}.git`, k);
      changed.add(urls[j * step]!);
    });
    const list = path.join(dir, 'urls.txt');
    writeFileSync(list, `${urls.join('\n')}\n`);
    const parsed = parseUrlList(readFileSync(list, 'utf8'));
    t.equal(parsed.items.length, N);
    const dirOf = new Map(parsed.items.map((it) => [it.url, keyToPath(top, it.key)]));
    // The state of a previous round: every URL mirrored, as its upstream advertises now, but the
    // changed ones, which are new (no mirror yet).
    const { url: pgUrl, db } = freshDb();
    const st = await openPgState(pgUrl);
    await st.syncList('seed', parsed.items, []);
    const long = Date.now() - 10 * 86_400_000;
    const rows = (await st.all()).filter((r) => !changed.has(r.url));
    await st.write(
      rows.map((r) => ({ ...r, state: 'unchanged' as const, attempts: 1, lastChanged: long, nextCheck: null, digest: advertisedDigest(parseAdvertisement(synth.advertisement(new URL(r.url).pathname))!) })),
    );
    await st.close();
    for (const r of rows) mkdirSync(dirOf.get(r.url)!, { recursive: true });

    const shimLog = path.join(dir, 'git-one.log');
    const env = { PATH: `${gitShim(path.join(dir, 'shim-one'), shimLog)}:${process.env.PATH}` };
    const args = ['--list', list, '--toplevel', top, '--state', pgUrl, '-j', '12', '--per-host', '12', '--batch', '200', '--lease-secs', '4', '--checkpoint-secs', '1', '--backoff-ms', '10'];
    const workers = [0, 1, 2].map(() => spawnKillable(BIN.dumbPull, args, env));
    t.teardown(() => void workers.forEach((w) => w.kill('group')));
    // Killed once the fleet has cloned a few (its batches are then under way).
    const clonesSoFar = () => loggedSubcommands(shimLog).filter((s) => s === 'clone').length;
    for (let i = 0; i < 1200 && clonesSoFar() < 15 && !workers[0]!.exited(); i++) await sleep(100);
    t.notOk(workers[0]!.exited(), `worker 0 still running when killed (${clonesSoFar()} clones so far)`);
    workers[0]!.kill('group');
    t.equal(await workers[0]!.ended, null, 'killed by a signal');
    const codes = await Promise.all(workers.slice(1).map((w) => w.ended));
    for (const [i, w] of workers.slice(1).entries()) {
      t.equal(codes[i], 0, `worker ${i + 1} exits 0 (stderr: ${w.stderr().slice(-1500)})`);
      t.notMatch(w.stdout() + w.stderr(), PASSWORD, 'the database password is in no output');
    }

    const missed = urls.filter((u) => !synth.probes.has(new URL(u).pathname));
    t.same(missed.slice(0, 5), [], `every URL was asked for its refs (${N - missed.length} of ${N})`);
    const states = cluster.psql('SELECT state || \' \' || count(*) FROM dumb_urls GROUP BY state ORDER BY state', db).split('\n');
    t.same(states, [`fetched ${CHANGED}`, `unchanged ${N - CHANGED}`], 'none lost: every row fetched or unchanged, none pending or failed');
    t.equal(cluster.psql('SELECT count(*) FROM dumb_leases WHERE NOT done', db), '0', 'every lease done');
    // The leases the dead worker held: taken over; their URLs may have been cloned twice.
    const taken = cluster
      .psql("SELECT shard || ' ' || lo || ' ' || hi FROM dumb_leases WHERE takeovers > 0", db)
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split(' '));
    t.ok(taken.length > 0, `the dead worker's leases were taken over (${taken.length})`);
    const inTaken = (u: string) => {
      const key = parsed.items.find((it) => it.url === u)!.key;
      return taken.some(([s, lo, hi]) => Number(s) === shardOf(key) && u > lo! && u <= hi!);
    };
    const counts = transfers(shimLog, dirOf);
    const once = [...changed].filter((u) => counts.get(u) === 1).length;
    const twice = [...changed].filter((u) => counts.get(u) === 2);
    t.same([...changed].filter((u) => !counts.has(u)), [], 'every changed URL was cloned');
    t.same(twice.filter((u) => !inTaken(u)), [], `cloned twice only in a taken-over lease (${twice.length} were, ${once} exactly once)`);
    t.same([...changed].filter((u) => (counts.get(u) ?? 0) > 2), [], 'none more than twice');
    t.same([...counts.keys()].filter((u) => !changed.has(u)), [], 'no unchanged URL fetched');
    const bad = [...changed].filter((u) => !fsckOk(dirOf.get(u)!).ok);
    t.same(bad, [], `the ${CHANGED} mirrors are git fsck clean`);
  });

  t.test('2 shard sets on 2 toplevels split one list: no URL mirrored in both', async (t) => {
    const keys = realKeys.slice(0, 40);
    const urls = keys.map((_, j) => `${synth.url}/s/${100_000 + j}.git`);
    keys.forEach((k, j) => synth.backed.set(`/s/${100_000 + j}.git`, k));
    const list = path.join(dir, 'urls-shards.txt');
    writeFileSync(list, `${urls.join('\n')}\n`);
    const [a, b] = ['top-a', 'top-b'].map((n) => path.join(dir, n));
    mkdirSync(a!);
    mkdirSync(b!);
    writeFileSync(path.join(a!, SHARD_FILE), '# this disk holds the lower half\n0-127\n');
    const { url: pgUrl, db } = freshDb();
    const shimLog = path.join(dir, 'git-shards.log');
    const env = { PATH: `${gitShim(path.join(dir, 'shim-shards'), shimLog)}:${process.env.PATH}` };
    const common = ['--list', list, '--state', pgUrl, '-j', '6', '--per-host', '6', '--batch', '10'];
    const [ra, rb] = await Promise.all([runBin(BIN.dumbPull, [...common, '--toplevel', a!], { env }), runBin(BIN.dumbPull, [...common, '--toplevel', b!, '--shards', '128-255'], { env })]);
    t.equal(ra.code, 0, `toplevel a (its shard file) exits 0: ${ra.stderr.slice(-800)}`);
    t.equal(rb.code, 0, `toplevel b (--shards) exits 0: ${rb.stderr.slice(-800)}`);
    const items = parseUrlList(readFileSync(list, 'utf8')).items;
    const lower = items.filter((it) => shardOf(it.key) < 128).length;
    t.ok(lower > 0 && lower < items.length, `the list spans both halves (${lower} of ${items.length} in 0-127)`);
    for (const it of items) {
      const inA = existsSync(keyToPath(a!, it.key));
      const inB = existsSync(keyToPath(b!, it.key));
      const want = shardOf(it.key) < 128 ? 'a' : 'b';
      if (!(inA !== inB && (inA ? 'a' : 'b') === want)) t.fail(`${it.key} (shard ${shardOf(it.key)}): in a ${inA}, in b ${inB}; wanted only in ${want}`);
    }
    t.equal(loggedSubcommands(shimLog).filter((s) => s === 'clone').length, items.length, 'each URL cloned once, by the toplevel of its shard');
    t.equal(cluster.psql("SELECT count(*) FROM dumb_urls WHERE state = 'fetched'", db), String(items.length), 'every row fetched');
  });

  t.test('grok-dumb-pull: two workers on one toplevel, each URL cloned once; the password in no output', async (t) => {
    const dir = tmpDir(t, 'grok-pg-cli-');
    const repos = Array.from({ length: 24 }, (_, i) => path.join(dir, 'up', `r${i}.git`));
    repos.forEach((r, i) => makeRepo(r, { commits: 1, file: `f${i}.txt` }));
    const list = path.join(dir, 'urls.txt');
    writeFileSync(list, `${repos.map((r) => `file://${r}`).join('\n')}\n`);
    const top = path.join(dir, 'mirror');
    mkdirSync(top);
    const shimLog = path.join(dir, 'git.log');
    const env = { PATH: `${gitShim(path.join(dir, 'shim'), shimLog)}:${process.env.PATH}` };
    const { url, db } = freshDb();
    const args = ['--list', list, '--toplevel', top, '--state', url, '--allow-file-urls', '-j', '3', '--batch', '2', '--lease-secs', '30', '-v'];
    const [w1, w2] = await Promise.all([runBin(BIN.dumbPull, args, { env }), runBin(BIN.dumbPull, args, { env })]);
    for (const w of [w1, w2]) {
      t.equal(w.code, 0, `a worker exits 0 (stderr: ${w.stderr.slice(-2000)})`);
      t.notMatch(w.stdout + w.stderr, PASSWORD, "the database URL's password is in no output");
    }
    const clones = loggedSubcommands(shimLog).filter((s) => s === 'clone').length;
    t.equal(clones, repos.length, 'each URL cloned exactly once by the two');
    t.match(w1.stderr + w2.stderr, /leases \d+, taken over 0, lost 0/);
    t.equal(cluster.psql(`SELECT state || ' ' || count(*) FROM dumb_urls GROUP BY state`, db), `fetched ${repos.length}`, 'every row fetched');
    t.equal(cluster.psql('SELECT count(*) FROM dumb_leases WHERE NOT done', db), '0', 'every lease done');
    for (const key of cluster.psql('SELECT key FROM dumb_urls', db).split('\n')) t.ok(fsckOk(keyToPath(top, key)).ok, `${key}: git fsck clean`);
    const bad = await runBin(BIN.dumbPull, [...args.slice(0, 4), '--state', cluster.url({ db: 'nosuchdb', password: PASSWORD }).replace(`:${cluster.port}/`, ':1/'), '--allow-file-urls'], { env });
    t.equal(bad.code === 0, false, 'an unreachable database fails');
    t.match(bad.stderr, /cannot connect to the state database postgres:\/\/\*\*\*@127\.0\.0\.1:1\/nosuchdb/);
    t.notMatch(bad.stdout + bad.stderr, PASSWORD, 'and names it without the password');
  });
});
