import Database from 'better-sqlite3';
import t from 'tap';
import { rowAfter, type UrlRow } from '../../../replica/dumb/row-update.js';
import { dueSql, failureDelayMs, isDue, pointsUpTo, schedulePoints, type RoundWindow, type ScheduleFacts } from '../../../replica/dumb/schedule.js';

// Points of quiet time: 100, 200, 400, 800, then every 1000 after 800 (1800, 2800, ...).
const S = { firstMs: 100, maxMs: 1000 };
const w = (from: number, to: number, all = false): RoundWindow => ({ from, to, all });

t.test('isDue and dueSql agree, at each threshold', async (t) => {
  const rows: [string, ScheduleFacts, RoundWindow, boolean][] = [
    ['new row (next check 0)', { nextCheck: 0, lastChanged: null }, w(0, 1), true],
    ['never checked, no time known', { nextCheck: null, lastChanged: null }, w(500, 600), true],
    ['failure delay ends exactly at the round start', { nextCheck: 500, lastChanged: 0 }, w(0, 500), true],
    ['failure delay ends 1 ms after the round start', { nextCheck: 501, lastChanged: 0 }, w(0, 500), false],
    ['quiet 99 ms, first point 100', { nextCheck: null, lastChanged: 0 }, w(0, 99), false],
    ['quiet exactly 100', { nextCheck: null, lastChanged: 0 }, w(0, 100), true],
    ['point 100 fell in the last round', { nextCheck: null, lastChanged: 0 }, w(100, 199), false],
    ['quiet exactly 200', { nextCheck: null, lastChanged: 0 }, w(100, 200), true],
    ['between 400 and 800', { nextCheck: null, lastChanged: 0 }, w(400, 799), false],
    ['last geometric point 800', { nextCheck: null, lastChanged: 0 }, w(799, 800), true],
    ['1 ms before 800 + maxMs', { nextCheck: null, lastChanged: 0 }, w(800, 1799), false],
    ['exactly 800 + maxMs', { nextCheck: null, lastChanged: 0 }, w(800, 1800), true],
    ['then every maxMs: 2800', { nextCheck: null, lastChanged: 0 }, w(1800, 2800), true],
    ['one round over several points is due once', { nextCheck: null, lastChanged: 0 }, w(0, 5000), true],
    ['changed after the round started', { nextCheck: null, lastChanged: 700 }, w(500, 600), false],
    ['changed at 1000: quiet exactly 100 at 1100', { nextCheck: null, lastChanged: 1000 }, w(1099, 1100), true],
    ['changed at 1000: quiet 99 at 1099', { nextCheck: null, lastChanged: 1000 }, w(1000, 1099), false],
    ['--all: everything', { nextCheck: 10_000, lastChanged: 0 }, w(0, 1, true), true],
  ];
  const db = new Database(':memory:');
  t.teardown(() => db.close());
  db.exec('CREATE TABLE r (next_check INTEGER, last_changed INTEGER)');
  for (const [name, row, win, want] of rows) {
    t.equal(isDue(row, win, S), want, `isDue: ${name}`);
    db.exec('DELETE FROM r');
    db.prepare('INSERT INTO r VALUES (?, ?)').run(row.nextCheck, row.lastChanged);
    const n = (db.prepare(`SELECT count(*) AS n FROM r WHERE ${dueSql(win, S)}`).get() as { n: number }).n;
    t.equal(n === 1, want, `dueSql: ${name}`);
  }
});

t.test('the schedule points and how many lie at or below a quiet time, at each threshold', async (t) => {
  t.same(schedulePoints(S), [100, 200, 400, 800], 'doubling while below maxMs');
  t.same(schedulePoints({ firstMs: 100, maxMs: 800 }), [100, 200, 400], 'a point equal to maxMs is not a geometric point');
  t.same(schedulePoints({ firstMs: 100, maxMs: 801 }), [100, 200, 400, 800], 'one just below maxMs is');
  t.same(schedulePoints({ firstMs: 0, maxMs: 1000 }), [0], 'firstMs 0: no doubling (it would never end)');
  const rows: [number, number][] = [
    [-1, 0],
    [99, 0],
    [100, 1],
    [500, 3],
    [799, 3],
    [800, 4],
    [1799, 4],
    [1800, 5],
    [2799, 5],
    [2800, 6],
    [10_800, 14],
  ];
  for (const [q, want] of rows) t.equal(pointsUpTo(q, S), want, `quiet ${q}: ${want} points`);
});

t.test('dueSql writes only safe integers into its SQL', async (t) => {
  t.throws(() => dueSql(w(0, 1.5), S), new RangeError('round end must be a safe integer, not 1.5'));
  t.throws(() => dueSql(w(Number.NaN, 10), S), new RangeError('round start must be a safe integer, not NaN'));
  t.throws(() => dueSql(w(0, 10), { firstMs: 100.5, maxMs: 1000 }), new RangeError('point must be a safe integer, not 100.5'));
  t.throws(() => dueSql(w(0, 10), { firstMs: 100, maxMs: 1000.5 }), new RangeError('point must be a safe integer, not 1800.5'));
  t.equal(dueSql(w(0, 1.5, true), S), '1 = 1', 'an --all round needs no numbers');
});

t.test('failure backoff doubles and is bounded', async (t) => {
  const rows: [number, number][] = [
    [0, 100],
    [1, 100],
    [2, 200],
    [4, 800],
    [5, 1000], // 1600 capped
    [1000, 1000],
  ];
  for (const [failures, want] of rows) t.equal(failureDelayMs(failures, S), want, `${failures} failures in a row: ${want} ms`);
});

t.test('rowAfter: unchanged writes nothing; changes, failures and recoveries write the row', async (t) => {
  const prev: UrlRow = { url: 'https://h/a.git', key: '/h/a.git', state: 'unchanged', digest: 'd1', attempts: 1, failures: 0, lastError: null, lastChanged: 1000, nextCheck: null };
  t.equal(rowAfter(prev, { key: '/h/a.git', state: 'unchanged', attempts: 1, failures: 0, digest: 'd1' }, 5000, S), null, 'same answer again: no write');
  t.same(rowAfter(prev, { key: '/h/a.git', state: 'unchanged', attempts: 2, failures: 0, digest: 'd1' }, 5000, S)?.attempts, 2, 'a retry is recorded');
  t.same(rowAfter({ ...prev, state: 'fetched' }, { key: '/h/a.git', state: 'unchanged', attempts: 1, failures: 0, digest: 'd1' }, 5000, S)?.state, 'unchanged', 'fetched then unchanged: written once');
  const fetched = rowAfter(prev, { key: '/h/a.git', state: 'fetched', attempts: 1, failures: 0, digest: 'd2' }, 5000, S);
  t.same(fetched, { ...prev, state: 'fetched', digest: 'd2', lastChanged: 5000 }, 'a fetch records the new digest and the change time');
  const failed = rowAfter(prev, { key: '/h/a.git', state: 'not_found', attempts: 1, failures: 3, lastError: 'gone' }, 5000, S);
  t.same(failed, { ...prev, state: 'not_found', failures: 3, lastError: 'gone', nextCheck: 5400 }, 'the third failure: next check after 400 ms, digest and change time kept');
  const back = rowAfter(failed!, { key: '/h/a.git', state: 'unchanged', attempts: 1, failures: 0, digest: 'd1' }, 9000, S);
  t.same(back, prev, 'a recovery clears the error and the next check time');
});
