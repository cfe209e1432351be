import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { runList, type ListRunOptions } from '../../../replica/dumb/run-list.js';
import { Git } from '../../../shared/git/index.js';
import { silentLogger } from '../../../shared/log.js';
import { integrity, readDumbState } from '../../helpers/dumb-state.js';
import { fsckOk, makeRepo, pushCommit } from '../../helpers/git.js';
import { tmpDir } from '../../helpers/tmp.js';

const COUNT = 12;

function setup(t: Parameters<typeof tmpDir>[0]) {
  const dir = tmpDir(t, 'grok-dumb-db-');
  const up = path.join(dir, 'up');
  const repos = Array.from({ length: COUNT }, (_, i) => path.join(up, `r${i}.git`));
  repos.forEach((r, i) => makeRepo(r, { commits: 1, file: `f${i}.txt` }));
  const top = path.join(dir, 'mirror');
  mkdirSync(top);
  const list = path.join(dir, 'urls.txt');
  writeFileSync(list, `${repos.map((r) => `file://${r}`).join('\n')}\n`);
  const opts = (o: Partial<ListRunOptions> = {}): ListRunOptions => ({
    listFile: list,
    toplevel: top,
    stateFile: `${list}.state.sqlite`,
    legacyStateFile: `${list}.state.json`,
    manifestFile: null,
    jobs: 4,
    perHost: 4,
    attempts: 1,
    backoffMs: 0,
    lsRemoteTimeoutMs: 60_000,
    postUpdateHook: [],
    detect: true,
    allowFile: true,
    refProbe: 'git',
    checkpointMs: 60_000,
    schedule: { firstMs: 3_600_000, maxMs: 86_400_000 },
    all: false,
    ...o,
  });
  const run = (o: Partial<ListRunOptions> = {}) => runList(opts(o), { git: new Git(), log: silentLogger(), now: Date.now, sleep: async () => {} });
  return { dir, repos, top, list, run, db: `${list}.state.sqlite` };
}

/** Counts every UPDATE of a URL row, by a trigger of the test's own in the database. */
function countUpdates(file: string): () => number {
  const db = new Database(file);
  db.exec('CREATE TABLE IF NOT EXISTS test_updates (n INTEGER)');
  db.exec('CREATE TRIGGER IF NOT EXISTS test_count AFTER UPDATE ON dumb_urls BEGIN INSERT INTO test_updates VALUES (1); END');
  db.exec('DELETE FROM test_updates');
  db.close();
  return () => {
    const d = new Database(file, { readonly: true });
    try {
      return (d.prepare('SELECT count(*) AS n FROM test_updates').get() as { n: number }).n;
    } finally {
      d.close();
    }
  };
}

t.test('a checkpoint writes only the rows that changed; unchanged URLs cost no write', async (t) => {
  const { repos, run, db } = setup(t);
  const first = await run();
  t.equal(first.counts.fetched, COUNT, 'first sweep clones every upstream');
  t.equal(first.rowsWritten, COUNT, 'and writes every row');
  t.equal(statSync(db).mode & 0o777, 0o600, 'the database is 0600');
  t.equal((await run({ all: true })).rowsWritten, COUNT, 'fetched -> unchanged: each row written once');
  let updates = countUpdates(db);
  const quiet = await run({ all: true });
  t.equal(quiet.counts.unchanged, COUNT, 'a sweep of everything finds all unchanged');
  t.equal(quiet.rowsWritten, 0, 'and writes no row');
  t.equal(updates(), 0, 'SQLite saw no UPDATE of a URL row');
  pushCommit(repos[3]!);
  pushCommit(repos[7]!);
  updates = countUpdates(db);
  const two = await run({ all: true });
  t.equal(two.counts.fetched, 2, 'two upstreams moved: two fetches');
  t.equal(two.rowsWritten, 2, 'two rows written');
  t.equal(updates(), 2, 'SQLite saw exactly two UPDATEs');
  const rows = readDumbState(db).repos;
  t.equal(rows[`file://${repos[3]}`]?.state, 'fetched', 'the moved one is fetched');
  t.match(rows[`file://${repos[3]}`]?.digest, /^[0-9a-f]{32}$/, 'with its refs digest');
  t.equal(integrity(db), 'ok', 'integrity_check ok');
});

t.test('scheduling: only due URLs are checked; a failing one backs off', async (t) => {
  const { dir, list, repos, run, top } = setup(t);
  const missing = `file://${path.join(dir, 'up', 'missing.git')}`;
  writeFileSync(list, `${repos.map((r) => `file://${r}`).join('\n')}\n${missing}\n`);
  const first = await run();
  t.equal(first.counts.fetched, COUNT, 'first sweep: every URL is new, so due');
  t.equal(first.counts.failed + first.counts.not_found, 1, 'the missing upstream fails');
  const next = await run();
  t.equal(next.notDue, COUNT + 1, 'the next sweep, seconds later: nothing is due (quiet ones wait --recheck-min, the failing one its backoff)');
  t.equal(next.rowsWritten, 0, 'and nothing is written');
  const soon = await run({ schedule: { firstMs: 0, maxMs: 1 } });
  t.equal(soon.notDue, 1, 'with a 1 ms schedule the quiet ones are due again; the failing one waits for the time its failure set');
  t.equal(soon.counts.unchanged, COUNT, 'and found unchanged');
  await run({ all: true });
  const row = readDumbState(`${list}.state.sqlite`).repos[missing]!;
  t.equal(row.failures, 2, 'the failing URL counts its failures in a row');
  for (const r of [repos[0]!, repos[COUNT - 1]!]) t.ok(fsckOk(path.join(top, 'file', r)).ok, `git fsck ${r}`);
});

t.test('the JSON state of earlier versions is taken in once; a --state file holding JSON is converted in place', async (t) => {
  const { dir, list, repos, run, db } = setup(t);
  const missing = `file://${path.join(dir, 'up', 'missing.git')}`;
  writeFileSync(list, `${repos.map((r) => `file://${r}`).join('\n')}\n${missing}\n`);
  const key = `/file${path.join(dir, 'up', 'missing.git')}`;
  const legacy = (failures: number) => JSON.stringify({ version: 1, repos: { [missing]: { key, state: 'failed', attempts: 1, failures, lastError: 'old' } } });
  writeFileSync(`${list}.state.json`, legacy(3));
  await run();
  t.equal(readDumbState(db).repos[missing]?.failures, 4, 'the imported row carries its 3 failures in a row into the 4th');
  writeFileSync(`${list}.state.json`, legacy(10));
  await run({ all: true });
  t.equal(readDumbState(db).repos[missing]?.failures, 5, 'the JSON is not taken in a second time');

  const asJson = path.join(dir, 'old-state.json');
  writeFileSync(asJson, legacy(7), { mode: 0o644 });
  await run({ stateFile: asJson, legacyStateFile: null });
  t.ok(readFileSync(asJson).subarray(0, 15).toString() === 'SQLite format 3', '--state pointing at JSON is a database now');
  t.equal(statSync(asJson).mode & 0o777, 0o600, 'made 0600');
  t.ok(existsSync(`${asJson}.imported.json`), 'the JSON is kept beside it');
  t.equal(readDumbState(asJson).repos[missing]?.failures, 8, 'its rows were taken in');
});

t.test('an existing state database with loose permissions is tightened to 0600', async (t) => {
  const { run, db } = setup(t);
  await run();
  const { chmodSync } = await import('node:fs');
  chmodSync(db, 0o644);
  await run();
  t.equal(statSync(db).mode & 0o777, 0o600, '0644 -> 0600');
});

t.test('a sweep over more due URLs than a page probes each exactly once, at every page boundary', async (t) => {
  const { run, db } = setup(t);
  // COUNT = 12 rows: pages of 5 (a short last page), 4 (exact multiple: an empty last read), 12 (exactly one page), 11 (one more than a page).
  const first = await run({ duePageRows: 5 });
  t.equal(first.counts.fetched, COUNT, 'new URLs over 3 pages: each cloned');
  t.equal(first.probes.git, COUNT, 'each asked for its refs once');
  for (const duePageRows of [4, 12, 11]) {
    const r = await run({ all: true, duePageRows });
    t.equal(r.counts.unchanged, COUNT, `pages of ${duePageRows}: every URL checked`);
    t.equal(r.probes.git, COUNT, `pages of ${duePageRows}: one probe each (${COUNT} in all, and every one reached: none twice)`);
    t.equal(r.counts.pending, 0, `pages of ${duePageRows}: none left pending`);
  }
  t.equal(Object.keys(readDumbState(db).repos).length, COUNT, 'one row per URL');
});
