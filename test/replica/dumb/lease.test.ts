/**
 * The fleet's pure rules at each boundary: when a lease expires and who still holds it, when a
 * worker joins a shard's round or starts the next, what a claim does, how often a lease is renewed;
 * the shard of a path (stable across versions: mirrors are placed by it) and the shard lists a
 * toplevel declares. And the worker loop over an in-memory lease source: a lease lost at renewal
 * leaves its unstarted URLs to the worker that took it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { claimStep, leaseExpired, leaseHeldBy, renewEveryMs, roundStep } from '../../../replica/dumb/lease.js';
import type { UrlRow } from '../../../replica/dumb/row-update.js';
import { parseShards, SHARD_COUNT, SHARD_FILE, shardOf, toplevelShards } from '../../../replica/dumb/shards.js';
import { localLeases, runWorker, type Claim, type LeaseSource } from '../../../replica/dumb/worker.js';
import { silentLogger } from '../../../shared/log.js';
import { tmpDir } from '../../helpers/tmp.js';

t.test('a lease expires at its expiry instant, not before; done leases never expire', async (t) => {
  const rows: [string, { owner: string; expires: number; done: boolean }, number, boolean, boolean][] = [
    // name, lease, now, expired, held by "a"
    ['1 ms before expiry', { owner: 'a', expires: 1000, done: false }, 999, false, true],
    ['at expiry', { owner: 'a', expires: 1000, done: false }, 1000, true, false],
    ['1 ms after expiry', { owner: 'a', expires: 1000, done: false }, 1001, true, false],
    ['done, long past expiry', { owner: 'a', expires: 1000, done: true }, 5000, false, false],
    ['another owner, before expiry', { owner: 'b', expires: 1000, done: false }, 999, false, false],
    ['expiry 0 (epoch), now 0', { owner: 'a', expires: 0, done: false }, 0, true, false],
  ];
  for (const [name, lease, now, expired, held] of rows) {
    t.equal(leaseExpired(lease, now), expired, `${name}: expired=${expired}`);
    t.equal(leaseHeldBy(lease, 'a', now), held, `${name}: held by a=${held}`);
    // The two never agree that a lease is both held and takeable.
    t.notOk(leaseExpired(lease, now) && leaseHeldBy(lease, lease.owner, now), `${name}: never held and expired at once`);
  }
});

t.test('renewal: three renewals fit in a lease; never a zero interval', async (t) => {
  for (const [ms, every] of [[300_000, 100_000], [3000, 1000], [3001, 1000], [2, 1], [1, 1]] as const) {
    t.equal(renewEveryMs(ms), every, `lease ${ms} ms: renew every ${every} ms`);
    t.ok(renewEveryMs(ms) * 3 <= ms || ms < 3, `lease ${ms} ms: renewed before it can expire`);
  }
});

t.test('a round: joined while anything is left of it, started again only when cut through and every lease done', async (t) => {
  const rows: [boolean, number, 'join' | 'start'][] = [
    [false, 0, 'join'], // uncut URLs, no lease yet: the round just started
    [false, 3, 'join'],
    [true, 1, 'join'], // cut through, one lease open (maybe a dead worker's): wait for it or take it
    [true, 0, 'start'],
  ];
  for (const [exhausted, open, step] of rows) t.equal(roundStep({ exhausted, open }), step, `exhausted=${exhausted} open=${open}: ${step}`);
});

t.test('a claim: an expired lease first, then a new batch, then wait while leases are open, then done', async (t) => {
  const rows: [boolean, boolean, number, string][] = [
    [true, true, 5, 'take-over'],
    [true, false, 0, 'take-over'],
    [false, true, 5, 'cut'],
    [false, true, 0, 'cut'],
    [false, false, 1, 'wait'],
    [false, false, 0, 'done'],
  ];
  for (const [expired, uncut, open, step] of rows) t.equal(claimStep({ expired, uncut, open }), step, `expired=${expired} uncut=${uncut} open=${open}: ${step}`);
});

t.test('the shard of a path is stable (mirrors are placed by it) and spread', async (t) => {
  // Pinned: the first four bytes of the key's SHA-1, big-endian, modulo 256. A change of hash would
  // move every mirror of a fleet to another toplevel.
  const pinned: [string, number][] = [
    ['/a.git', 215],
    ['/github.com/torvalds/linux.git', 30],
    ['/h/x/y.git', 59],
  ];
  for (const [key, shard] of pinned) t.equal(shardOf(key), shard, `${key}: shard ${shard}`);
  const counts = new Array<number>(SHARD_COUNT).fill(0);
  for (let i = 0; i < 25_600; i++) counts[shardOf(`/h/r${i}.git`)]!++;
  t.ok(Math.min(...counts) > 50 && Math.max(...counts) < 160, `25600 keys over 256 shards: ${Math.min(...counts)}..${Math.max(...counts)} each`);
  t.equal(shardOf('/x.git', 2), shardOf('/x.git') % 2, 'a power-of-two count agrees with 256');
});

t.test('shard lists: ranges at each end, "all", comments; bad parts named', async (t) => {
  t.same(parseShards('0', 'x'), [0]);
  t.same(parseShards('255', 'x'), [255], 'the last shard');
  t.same(parseShards('0-255', 'x').length, 256);
  t.same(parseShards('all', 'x').length, 256);
  t.same(parseShards('3-5,1 7\n# moved here from host b\n9', 'x'), [1, 3, 4, 5, 7, 9]);
  t.same(parseShards('4-4', 'x'), [4], 'a range of one');
  for (const [text, why] of [
    ['256', /"256" is not a shard or range of shards within 0-255/],
    ['0-256', /"0-256"/],
    ['5-4', /"5-4"/],
    ['-1', /"-1"/],
    ['a', /"a"/],
    ['', /no shards given/],
    ['# only a comment', /no shards given/],
    ['all,3', /"all"/],
  ] as const) {
    t.throws(() => parseShards(text, '--shards'), { code: 'GROK_ERR_USAGE', message: why }, JSON.stringify(text));
  }
});

t.test("a toplevel's shards: the flag, else its shard file, else all", async (t) => {
  const top = tmpDir(t, 'grok-shards-');
  t.equal(toplevelShards(top, null), null, 'no file, no flag: every shard');
  writeFileSync(path.join(top, SHARD_FILE), '0-127\n');
  t.equal(toplevelShards(top, null)!.length, 128, 'the file');
  t.same(toplevelShards(top, '200'), [200], 'the flag wins over the file');
  writeFileSync(path.join(top, SHARD_FILE), '300\n');
  t.throws(() => toplevelShards(top, null), { code: 'GROK_ERR_USAGE', message: new RegExp(`${SHARD_FILE}: "300"`) }, 'a bad file is named');
  const asDir = tmpDir(t, 'grok-shards-');
  mkdirSync(path.join(asDir, SHARD_FILE));
  t.throws(() => toplevelShards(asDir, null), { code: 'GROK_ERR_USAGE', message: /cannot read/ });
});

const row = (i: number): UrlRow => ({ url: `https://h/r${i}.git`, key: `/h/r${i}.git`, state: 'pending', digest: null, attempts: 0, failures: 0, lastError: null, lastChanged: null, nextCheck: 0 });

t.test('worker: a lease lost at renewal drops its unstarted URLs; the others are checked and recorded with their lease done', async (t) => {
  const batches = [
    [row(0), row(1), row(2), row(3)],
    [row(4), row(5)],
  ];
  const recorded: { urls: string[]; done?: number }[] = [];
  let claims = 0;
  let renewals = 0;
  const source: LeaseSource = {
    async claim(): Promise<Claim> {
      const b = batches[claims];
      claims++;
      return b ? { batch: { id: claims, shard: 7, takenOver: claims === 2, rows: b } } : { done: true };
    },
    // Lease 1 is lost at the first renewal (another worker took it after it expired).
    renew: async (ids) => (renewals++ === 0 ? ids.filter((id) => id !== 1) : [...ids]),
    async record(rows, done) {
      recorded.push({ urls: rows.map((r) => r.url), ...(done !== undefined ? { done } : {}) });
      return rows.length;
    },
  };
  const checked: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const stats = await runWorker(
    { jobs: 1, leaseMs: 30, checkpointMs: 60_000 },
    {
      source,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      now: Date.now,
      log: silentLogger(),
      check: async (r) => {
        checked.push(r.url);
        // The first check outlives a renewal: lease 1 is found lost meanwhile.
        if (checked.length === 1) {
          setTimeout(release, 60);
          await gate;
        }
        return { ...r, state: 'fetched', lastChanged: 1 };
      },
    },
  );
  t.same(checked, ['https://h/r0.git', 'https://h/r4.git', 'https://h/r5.git'], 'r1-r3 of the lost lease are not checked here');
  t.equal(stats.lost, 1);
  t.equal(stats.takenOver, 1);
  t.equal(stats.leases, 2);
  const done = recorded.filter((r) => r.done !== undefined).map((r) => r.done);
  t.same(done, [2], 'only the lease still held is marked done');
  t.same(recorded.flatMap((r) => r.urls).sort(), ['https://h/r0.git', 'https://h/r4.git', 'https://h/r5.git'], "the lost lease's checked URL is still recorded");
});

t.test('worker: waits while others hold leases, then ends; a local source hands the due list out in batches', async (t) => {
  let waits = 0;
  const source: LeaseSource = {
    claim: async () => (waits++ < 3 ? { wait: true } : { done: true }),
    renew: async (ids) => [...ids],
    record: async (rows) => rows.length,
  };
  const stats = await runWorker({ jobs: 2, leaseMs: 40, checkpointMs: 1000 }, { source, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), now: Date.now, log: silentLogger(), check: async () => null });
  t.equal(waits, 4, 'asked again after each wait');
  t.equal(stats.checked, 0);
  const written: string[] = [];
  const local = localLeases([row(0), row(1), row(2)], 2, (rows) => (written.push(...rows.map((r) => r.url)), rows.length));
  const s2 = await runWorker({ jobs: 2, leaseMs: 40, checkpointMs: 1000 }, { source: local, sleep: async () => undefined, now: Date.now, log: silentLogger(), check: async (r) => ({ ...r, state: 'unchanged' }) });
  t.equal(s2.leases, 2, 'three rows in batches of two');
  t.equal(s2.checked, 3);
  t.same(written.sort(), ['https://h/r0.git', 'https://h/r1.git', 'https://h/r2.git']);
});
