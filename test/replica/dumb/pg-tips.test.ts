/**
 * The tip index in PostgreSQL (pg-tips.ts) on a real cluster: the mirror holding the most of the
 * tips wins (ties to the smaller path), record replaces, forget removes; rows are scoped by toplevel
 * id (another toplevel's rows are invisible and untouched); a database made before the table gets
 * it; a toplevel's id is made once, and workers starting at once agree on it; a killed worker's temp
 * file of it goes once it is a minute old.
 */
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { openPgState } from '../../../replica/dumb/pg-state.js';
import { ID_FILE, pgTipIndex, toplevelId } from '../../../replica/dumb/pg-tips.js';
import { pgSkip, startPostgres } from '../../helpers/postgres.js';
import { tmpDir } from '../../helpers/tmp.js';

const oid = (c: string, rest = '0') => c.repeat(16) + rest.repeat(24);
const [A, B, C, D] = [oid('a'), oid('b'), oid('c'), oid('d')] as const;

t.test('PostgreSQL tip index', { skip: pgSkip }, async (t) => {
  const cluster = await startPostgres(t);
  cluster.psql('CREATE DATABASE tips');
  const url = cluster.url({ db: 'tips' });

  t.test('lookup, record, forget, in one scope and beside another', async (t) => {
    const st = await openPgState(url);
    t.teardown(() => st.close());
    const one = pgTipIndex(st.conn, '1'.repeat(32));
    const two = pgTipIndex(st.conn, '2'.repeat(32));
    t.equal(await one.lookup([A]), null, 'nothing recorded: null');
    t.equal(await one.lookup([]), null, 'no tips: null');
    await one.record('/top/x.git', [A, B]);
    await one.record('/top/y.git', [A, B, C]);
    await one.record('/top/w.git', [D]);
    t.equal(await one.lookup([A, B, C]), '/top/y.git', 'the mirror holding the most of the tips wins');
    t.equal(await one.lookup([A, B]), '/top/x.git', 'a tie goes to the smaller path');
    t.equal(await one.lookup([oid('a', 'f')]), '/top/x.git', 'tips are matched on their first 16 hex digits');
    t.equal(await one.lookup([A.toUpperCase()]), '/top/x.git', 'in any case');
    await one.record('/top/y.git', [D]);
    t.equal(await one.lookup([C]), null, 'record replaces what was recorded for the path');
    t.equal(await one.lookup([D]), '/top/w.git', 'and the new tips count (tie: the smaller path)');
    await one.record('/top/y.git', [D, D, C]);
    t.equal(await one.lookup([C, D]), '/top/y.git', 'repeated tips are one');

    t.equal(await two.lookup([A, B, C, D]), null, "another toplevel's rows are invisible");
    await two.record('/top/x.git', [C]);
    await two.record('/top/z.git', [A, B, C, D]);
    t.equal(await one.lookup([A, B, C, D]), '/top/x.git', 'and it does not see these (/top/z.git, holding all four, would win)');
    await two.forget('/top/x.git');
    t.equal(await one.lookup([A, B]), '/top/x.git', "forgetting a path in one scope leaves the other's row of that path");
    t.equal(await two.lookup([C]), '/top/z.git', 'the forgotten row is gone from its own scope');
    await one.forget('/top/x.git');
    t.equal(await one.lookup([A, B]), null, 'forget removes the path');
    t.equal(await two.lookup([A]), '/top/z.git', 'still there in the other scope');
    await one.forget('/top/nowhere.git');
    t.equal(cluster.psql("SELECT count(*) FROM dumb_tips WHERE scope = '" + '2'.repeat(32) + "'", 'tips'), '4', "the other scope's rows untouched");
    one.close();
    t.equal(await two.lookup([A]), '/top/z.git', 'closing one index leaves the connection to the state');
  });

  t.test('a database made before the tip index gets its table', async (t) => {
    cluster.psql('DROP TABLE dumb_tips', 'tips');
    const st = await openPgState(url);
    t.teardown(() => st.close());
    t.equal(cluster.psql("SELECT to_regclass('dumb_tips_by_path') IS NOT NULL", 'tips'), 't', 'made again');
    const ix = pgTipIndex(st.conn, '3'.repeat(32));
    await ix.record('/top/a.git', [A]);
    t.equal(await ix.lookup([A]), '/top/a.git');
  });
});

t.test("a toplevel's id: made once, agreed on, bad ones refused", async (t) => {
  const top = tmpDir(t);
  const ids = await Promise.all(Array.from({ length: 8 }, () => toplevelId(top)));
  t.match(ids[0], /^[0-9a-f]{32}$/);
  t.same(new Set(ids).size, 1, 'workers starting at once agree');
  t.equal(await toplevelId(top), ids[0], 'kept');
  t.equal(readFileSync(path.join(top, ID_FILE), 'utf8').trim(), ids[0]);
  t.notOk(readdirSync(top).some((n) => n.endsWith('.tmp')), 'no temporary file left');
  t.not(await toplevelId(tmpDir(t)), ids[0], 'another toplevel, another id');
  // A worker killed between its write and its link left its temp file; one in flight is younger.
  const killed = path.join(top, `${ID_FILE}.4242.0123abcd.tmp`);
  const inFlight = path.join(top, `${ID_FILE}.4343.89abcdef.tmp`);
  writeFileSync(killed, `${'e'.repeat(32)}\n`);
  writeFileSync(inFlight, `${'f'.repeat(32)}\n`);
  const minuteAgo = new Date(Date.now() - 61_000);
  utimesSync(killed, minuteAgo, minuteAgo);
  t.equal(await toplevelId(top), ids[0], 'the id stays');
  t.notOk(existsSync(killed), 'a killed worker\'s temp file a minute old is removed');
  t.ok(existsSync(inFlight), 'a younger one (perhaps in flight on another machine) stays');
  writeFileSync(path.join(top, ID_FILE), 'junk\n');
  await t.rejects(toplevelId(top), { code: 'GROK_ERR_TOPLEVEL', message: /does not hold a toplevel id/ });
  await t.rejects(toplevelId(path.join(top, 'missing')), { code: 'GROK_ERR_TOPLEVEL', message: /cannot make/ });
});
