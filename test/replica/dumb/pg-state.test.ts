/**
 * The PostgreSQL state (`--state postgres://...`) on a real cluster (test/helpers/postgres.ts): the
 * same rows as SQLite's (credentials redacted), leases at each expiry boundary on a controlled
 * clock (two owners never hold one batch; a lease is taken at its expiry instant, not a millisecond
 * before, and is then lost to its old owner), and rounds joined and started. (The command
 * itself, several workers at once: fleet.slow.test.ts.)
 */
import t from 'tap';
import { pgLeases } from '../../../replica/dumb/pg-lease.js';
import { openPgState, type PgState } from '../../../replica/dumb/pg-state.js';
import type { UrlRow } from '../../../replica/dumb/row-update.js';
import type { Batch } from '../../../replica/dumb/worker.js';
import { pgSkip, startPostgres, type Cluster } from '../../helpers/postgres.js';

const schedule = { firstMs: 3_600_000, maxMs: 86_400_000 };
const PASSWORD = 's3cr3t-Pa55';

let cluster: Cluster;
let dbs = 0;
/** A fresh database of the cluster, its URL with a password in it. */
const freshDb = () => {
  const db = `t${++dbs}`;
  cluster.psql(`CREATE DATABASE ${db}`);
  return { db, url: cluster.url({ db, password: PASSWORD }) };
};

t.test('PostgreSQL state', { skip: pgSkip }, async (t) => {
  cluster = await startPostgres(t);

  t.test('rows as SQLite keeps them: list sync, credentials redacted, writes, due', async (t) => {
    const { url } = freshDb();
    const st = await openPgState(url);
    t.teardown(() => st.close());
    t.notMatch(st.where, PASSWORD, 'where the state is shows no password');
    t.match(st.where, /postgres:\/\/\*\*\*@127\.0\.0\.1/);
    const items = [
      { url: 'https://user:tok@h/a.git', key: '/h/a.git' },
      { url: 'https://h/b.git', key: '/h/b.git' },
    ];
    t.equal(await st.syncList('d1', items, [{ url: 'ext::sh', why: 'is not a URL' }]), true);
    t.equal(await st.syncList('d1', items, []), false, 'the same list digest: nothing done');
    const all = await st.all();
    t.same(all.map((r) => [r.url, r.key, r.state]), [
      ['ext::sh', null, 'invalid'],
      ['https://***@h/a.git', '/h/a.git', 'pending'],
      ['https://h/b.git', '/h/b.git', 'pending'],
    ]);
    const due = await st.due({ from: 0, to: 1000, all: false }, schedule, null, 100);
    t.equal(due.length, 2, 'new rows are due; refused ones never');
    t.equal(await st.countDue({ from: 0, to: 1000, all: false }, schedule), 2, 'and counted so');
    const first = await st.due({ from: 0, to: 1000, all: false }, schedule, null, 1);
    t.same(first.map((r) => r.key), ['/h/a.git'], 'a page of one: the first in URL order');
    t.same((await st.due({ from: 0, to: 1000, all: false }, schedule, first[0]!.url, 1)).map((r) => r.key), ['/h/b.git'], 'the next page starts after it');
    t.same(await st.due({ from: 0, to: 1000, all: false }, schedule, 'https://h/b.git', 1), [], 'after the last: empty');
    const b = due.find((r) => r.key === '/h/b.git')!;
    t.equal(await st.write([{ ...b, state: 'fetched', digest: 'x', lastChanged: 500, nextCheck: null, lastError: null }]), 1);
    t.same((await st.due({ from: 1000, to: 2000, all: false }, schedule, null, 100)).map((r) => r.key), ['/h/a.git'], 'a row fetched at 500 is not due again before its first point');
    t.same((await st.due({ from: 1000, to: 500 + 3_600_000, all: false }, schedule, null, 100)).map((r) => r.key).sort(), ['/h/a.git', '/h/b.git'], 'due when its first point falls in the window');
    await st.syncList('d2', [items[1]!], []);
    t.same((await st.all()).map((r) => r.key), ['/h/b.git'], 'URLs gone from the list are deleted');
  });

  t.test('leases at their boundaries, on a controlled clock', async (t) => {
    const { url, db } = freshDb();
    const st = await openPgState(url);
    t.teardown(() => st.close());
    const items = Array.from({ length: 10 }, (_, i) => ({ url: `https://h/r${i}.git`, key: `/h/r${i}.git` }));
    await st.syncList('d', items, []);
    let clock = 1_000_000;
    const at: PgState = { ...st, conn: { ...st.conn, now: () => clock } };
    const opts = { shards: Array.from({ length: 256 }, (_, i) => i), all: false, batch: 3, leaseMs: 100, schedule };
    const a = await pgLeases(at, { ...opts, owner: 'a' });
    const b = await pgLeases(at, { ...opts, owner: 'b' });
    t.same([...a.rounds.values()].every((r) => r === 1), true, 'the first worker starts round 1 of every shard');
    t.same([...b.rounds.entries()], [...a.rounds.entries()], 'the second joins the same rounds');
    const claimed = async (l: typeof a) => {
      const c = await l.claim();
      return 'batch' in c ? c.batch : c;
    };
    const a1 = (await claimed(a)) as Batch;
    const b1 = (await claimed(b)) as Batch;
    t.ok(a1.rows.length > 0 && b1.rows.length > 0);
    const urlsOf = (x: Batch) => x.rows.map((r: UrlRow) => r.url);
    t.same(urlsOf(a1).filter((u) => urlsOf(b1).includes(u)), [], 'two owners never hold the same URL');
    // b takes every other batch; a's first stays open.
    const rest: Batch[] = [];
    for (;;) {
      const c = await b.claim();
      if (!('batch' in c)) {
        t.same(c, { wait: true }, "with a's lease open, b waits instead of ending");
        break;
      }
      rest.push(c.batch);
    }
    const fetched = (x: Batch) => x.rows.map((r) => ({ ...r, state: 'fetched' as const, lastChanged: clock, nextCheck: null }));
    for (const x of [b1, ...rest]) await b.record(fetched(x), x.id);
    const seen = [a1, b1, ...rest].flatMap(urlsOf).sort();
    t.same(seen, items.map((i) => i.url).sort(), 'the batches cover the list once');
    clock = 1_000_000 + 99;
    t.same(await b.claim(), { wait: true }, '1 ms before expiry: not taken');
    t.same(await a.renew([a1.id]), [a1.id], 'and a can renew it then');
    clock += 99; // a renewed at +99 for 100 ms: expires at +199
    t.same(await b.claim(), { wait: true }, 'renewed: still 1 ms short of its new expiry');
    clock += 1;
    const taken = (await claimed(b)) as Batch;
    t.equal(taken.id, a1.id, 'at its expiry instant the lease is taken over');
    t.ok(taken.takenOver);
    t.same(urlsOf(taken), urlsOf(a1), 'with its URLs still due');
    t.same(await a.renew([a1.id]), [], 'a finds it lost at its next renewal');
    await a.record([], a1.id);
    t.equal(cluster.psql(`SELECT owner || ' ' || done FROM dumb_leases WHERE id = ${a1.id}`, db), 'b false', 'the lease stays b\'s, open');
    t.same(await b.claim(), { wait: true }, "a's late done does not close b's lease");
    await b.record(fetched(taken), taken.id);
    t.same(await b.claim(), { done: true }, 'every lease done: the round is over for b');
    const c = await pgLeases(at, { ...opts, owner: 'c' });
    t.ok([...c.rounds.values()].every((r) => r === 2), 'a worker arriving after it starts round 2');
    t.same(await c.claim(), { done: true }, 'in which nothing is due yet');
  });
});
