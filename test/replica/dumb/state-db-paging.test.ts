import path from 'node:path';
import t from 'tap';
import type { UrlRow } from '../../../replica/dumb/row-update.js';
import { dueRows, openStateDb, type StateDb } from '../../../replica/dumb/state-db.js';
import { tmpDir } from '../../helpers/tmp.js';

const PAGE = 5;
const NOW = 1_000_000;
const window = { from: 0, to: NOW, all: false };
const schedule = { firstMs: 3_600_000, maxMs: 86_400_000 };
const url = (i: number) => `https://h.example/r${String(i).padStart(3, '0')}.git`;

/** A database of `due` due rows with a row that is not due before and after each. */
async function dbWith(t: Parameters<typeof tmpDir>[0], due: number): Promise<StateDb> {
  const db = await openStateDb(path.join(tmpDir(t, 'grok-dumb-page-'), 'state.sqlite'));
  t.teardown(() => db.close());
  const items = Array.from({ length: 2 * due + 1 }, (_, i) => ({ url: url(i), key: `/h.example/r${String(i).padStart(3, '0')}.git` }));
  db.syncList('list', items, []);
  // Odd rows are due (new: next check 0); even ones failed a moment ago and wait.
  const waiting: UrlRow[] = items
    .filter((_, i) => i % 2 === 0)
    .map((it) => ({ url: it.url, key: it.key, state: 'failed', digest: null, attempts: 1, failures: 1, lastError: 'x', lastChanged: null, nextCheck: NOW + 1 }));
  db.write(waiting);
  return db;
}

/** dueRows over `db`, with every page it read. */
function pagesOf(db: StateDb): { rows: string[]; pages: number[] } {
  const pages: number[] = [];
  const counting = { due: (...a: Parameters<StateDb['due']>) => { const p = db.due(...a); pages.push(p.length); return p; } };
  return { rows: [...dueRows(counting, window, schedule, PAGE)].map((r) => r.url), pages };
}

const expected = (due: number) => Array.from({ length: due }, (_, i) => url(2 * i + 1));

for (const [due, pages] of [
  [PAGE - 1, [PAGE - 1]],
  [PAGE, [PAGE, 0]],
  [PAGE + 1, [PAGE, 1]],
  [2 * PAGE, [PAGE, PAGE, 0]],
  [0, [0]],
] as const) {
  t.test(`${due} due rows, pages of ${PAGE}: read as pages of ${pages.join(', ')}, each row once`, async (t) => {
    const db = await dbWith(t, due);
    t.equal(db.countDue(window, schedule), due, 'countDue');
    const got = pagesOf(db);
    t.same(got.pages, pages, 'page sizes');
    t.same(got.rows, expected(due), 'every due row once, in URL order; none of the waiting ones');
  });
}

t.test('one page starts after the given URL and holds at most the limit', async (t) => {
  const db = await dbWith(t, 8);
  t.same(db.due(window, schedule, url(5), 3).map((r) => r.url), [url(7), url(9), url(11)], 'after r005: the next three due');
  t.same(db.due({ ...window, all: true }, schedule, url(5), 3).map((r) => r.url), [url(6), url(7), url(8)], 'with all, the waiting ones too');
  t.same(db.due(window, schedule, url(15), 3), [], 'after the last due row: empty');
});

t.test('rows written while paging (behind the page) are not read again', async (t) => {
  const db = await dbWith(t, 2 * PAGE);
  const seen: string[] = [];
  for (const r of dueRows(db, { ...window, all: true }, schedule, PAGE)) {
    seen.push(r.url);
    // What a sweep's checkpoint does: the row checked is written (still due under `all`).
    db.write([{ ...r, state: 'unchanged', attempts: 1, nextCheck: null, lastChanged: NOW }]);
  }
  t.equal(seen.length, 4 * PAGE + 1, 'every row once');
  t.equal(new Set(seen).size, seen.length, 'none twice');
});
