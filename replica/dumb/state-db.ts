/**
 * List mode's state: one SQLite file (better-sqlite3), one row per listed URL (row-update.ts). A
 * checkpoint writes the rows that changed, in one transaction, so a sweep killed at any point leaves
 * the rows as of its last commit and the next sweep checks the rest. WAL journal: a commit is an
 * append. The file is 0600 (SQLite gives its -wal and -shm the database file's mode): it names every
 * upstream; URLs are stored with credentials redacted and errors through safeText, whatever put them
 * in. The JSON state of earlier versions is taken in once (importJson). The caller holds the file's
 * lock: one sweep at a time.
 */
import { chmodSync, closeSync, linkSync, openSync, readSync, renameSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { GrokError } from '../../shared/errors.js';
import { redactUrls, safeText } from '../../shared/safe-text.js';
import type { UrlRow } from './row-update.js';
import { dueSql, type RoundWindow, type Schedule } from './schedule.js';
import { readState, type RepoState } from './state.js';
import type { StateStore } from './state-store.js';

const SCHEMA = [
  'CREATE TABLE IF NOT EXISTS dumb_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)',
  `CREATE TABLE IF NOT EXISTS dumb_urls (url TEXT PRIMARY KEY, key TEXT, state TEXT NOT NULL, digest TEXT,
     attempts INTEGER NOT NULL, failures INTEGER NOT NULL, last_error TEXT, last_changed INTEGER, next_check INTEGER) WITHOUT ROWID`,
];
const COLUMNS = 'url, key, state, digest, attempts, failures, last_error, last_changed, next_check';

/** A row as both stores return it (their column names; pg-state.ts reads it with fromRaw too). */
interface RawRow {
  url: string;
  key: string | null;
  state: RepoState;
  digest: string | null;
  attempts: number;
  failures: number;
  last_error: string | null;
  last_changed: number | null;
  next_check: number | null;
}

export const fromRaw = (r: RawRow): UrlRow => ({
  url: r.url,
  key: r.key,
  state: r.state,
  digest: r.digest,
  attempts: r.attempts,
  failures: r.failures,
  lastError: r.last_error,
  lastChanged: r.last_changed,
  nextCheck: r.next_check,
});

/** A row's column values as stored (both stores): URL redacted, error made safe. */
export const rowParams = (r: UrlRow) => [redactUrls(r.url), r.key, r.state, r.digest, r.attempts, r.failures, r.lastError === null ? null : safeText(r.lastError), r.lastChanged, r.nextCheck];

/** The SQLite store: every method answers at once. */
export interface StateDb extends StateStore {
  readonly file: string;
  meta(name: string): string | undefined;
  setMeta(name: string, value: string): void;
  syncList(digest: string, items: readonly { url: string; key: string }[], refused: readonly { url: string; why: string }[]): boolean;
  due(w: RoundWindow, s: Schedule, after: string | null, limit: number): UrlRow[];
  countDue(w: RoundWindow, s: Schedule): number;
  write(rows: readonly UrlRow[]): number;
  all(): UrlRow[];
  close(): void;
}

/** The rows a JSON state file of earlier versions records, each due at once. */
export async function legacyRows(json: string): Promise<UrlRow[]> {
  const st = await readState(json);
  return Object.entries(st.repos).map(([url, e]): UrlRow => {
    const valid = typeof e.key === 'string' && e.state !== 'invalid';
    return {
      url,
      key: valid ? e.key! : null,
      state: valid ? e.state : 'invalid',
      digest: null,
      attempts: Number.isInteger(e.attempts) ? e.attempts : 0,
      failures: Number.isInteger(e.failures) ? e.failures : 0,
      lastError: typeof e.lastError === 'string' ? e.lastError : null,
      lastChanged: typeof e.lastChanged === 'number' ? e.lastChanged * 1000 : null,
      // Due at once: the first check compares the upstream with the mirror on disk.
      nextCheck: valid ? 0 : null,
    };
  });
}

/** Every due row, read a page at a time (StateDb.due); a sync generator, taken from batch by batch (worker.ts localLeases). */
export function* dueRows(db: Pick<StateDb, 'due'>, w: RoundWindow, s: Schedule, pageRows: number): Generator<UrlRow> {
  let after: string | null = null;
  for (;;) {
    const page = db.due(w, s, after, pageRows);
    yield* page;
    if (page.length < pageRows) return;
    after = page[page.length - 1]!.url;
  }
}

function holdsJson(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const b = Buffer.alloc(1);
    return readSync(fd, b, 0, 1, 0) === 1 && b[0] === 0x7b; // '{'
  } finally {
    closeSync(fd);
  }
}

/**
 * A `--state` path that still holds the JSON of earlier versions becomes a database in place: built
 * aside, the JSON kept as `<file>.imported.json`, then renamed over it (a crash before the rename
 * converts again; after it, the database is there).
 */
export async function openStateDb(file: string): Promise<StateDb> {
  if (holdsJson(file)) {
    const tmp = `${file}.sqlite-new`;
    for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`]) rmSync(f, { force: true });
    const db = openSqlite(tmp);
    try {
      await db.importJson(file);
    } finally {
      db.close();
    }
    rmSync(`${file}.imported.json`, { force: true });
    linkSync(file, `${file}.imported.json`);
    renameSync(tmp, file);
  }
  return openSqlite(file);
}

function openSqlite(file: string): StateDb {
  // Created 0600 before SQLite opens it; an older, looser file is tightened.
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: 60_000 });
    db.pragma('journal_mode = WAL');
    for (const s of SCHEMA) db.exec(s);
  } catch (err) {
    throw new GrokError('GROK_ERR_STATUS_FILE', `cannot open the state database ${file}: ${(err as Error).message}`, { file }, { cause: err });
  }
  const getMeta = db.prepare('SELECT value FROM dumb_meta WHERE name = ?');
  const putMeta = db.prepare('INSERT INTO dumb_meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value');
  const insert = db.prepare(`INSERT INTO dumb_urls (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO NOTHING`);
  const update = db.prepare('UPDATE dumb_urls SET key = ?, state = ?, digest = ?, attempts = ?, failures = ?, last_error = ?, last_changed = ?, next_check = ? WHERE url = ?');
  const meta = (name: string) => (getMeta.get(name) as { value: string } | undefined)?.value;
  const writeRows = db.transaction((rows: readonly UrlRow[]) => {
    for (const r of rows) {
      const [url, ...rest] = rowParams(r);
      update.run(...rest, url);
    }
  });
  return {
    file,
    where: file,
    meta,
    setMeta: (name, value) => void putMeta.run(name, value),
    async importJson(json: string): Promise<number | false> {
      if (meta('imported') !== undefined) return false;
      const rows = await legacyRows(json);
      db.transaction(() => {
        for (const r of rows) insert.run(...rowParams(r));
        putMeta.run('imported', json);
      }).immediate();
      return rows.length;
    },
    syncList(digest, items, refused): boolean {
      if (meta('list_digest') === digest) return false;
      db.transaction(() => {
        db.exec('CREATE TEMP TABLE IF NOT EXISTS listed (url TEXT PRIMARY KEY) WITHOUT ROWID');
        db.exec('DELETE FROM temp.listed');
        const listed = db.prepare('INSERT OR IGNORE INTO temp.listed (url) VALUES (?)');
        // A URL refused before and allowed now (or the other way round) changes state; others keep theirs.
        const upsert = db.prepare(
          `INSERT INTO dumb_urls (${COLUMNS}) VALUES (?, ?, 'pending', NULL, 0, 0, NULL, NULL, 0)
           ON CONFLICT (url) DO UPDATE SET key = excluded.key, state = 'pending', next_check = 0, last_error = NULL WHERE dumb_urls.key IS NULL OR dumb_urls.key <> excluded.key`,
        );
        const invalid = db.prepare(
          `INSERT INTO dumb_urls (${COLUMNS}) VALUES (?, NULL, 'invalid', NULL, 0, 0, ?, NULL, NULL)
           ON CONFLICT (url) DO UPDATE SET key = NULL, state = 'invalid', next_check = NULL, last_error = excluded.last_error WHERE dumb_urls.key IS NOT NULL OR dumb_urls.last_error IS NOT excluded.last_error`,
        );
        for (const it of items) {
          const url = redactUrls(it.url);
          listed.run(url);
          upsert.run(url, it.key);
        }
        const kept = new Set(items.map((it) => redactUrls(it.url)));
        for (const r of refused) {
          const url = redactUrls(r.url);
          // A refused duplicate that reads, redacted, as a kept URL (other credentials) leaves its row be.
          if (kept.has(url)) continue;
          listed.run(url);
          invalid.run(url, safeText(r.why));
        }
        db.exec('DELETE FROM dumb_urls WHERE url NOT IN (SELECT url FROM temp.listed)');
        db.exec('DELETE FROM temp.listed');
        putMeta.run('list_digest', digest);
      }).immediate();
      return true;
    },
    due(w, s, after, limit) {
      const sql = `SELECT ${COLUMNS} FROM dumb_urls WHERE key IS NOT NULL AND url > ? AND ${dueSql(w, s)} ORDER BY url LIMIT ?`;
      // '' sorts before every URL: the first page.
      return (db.prepare(sql).all(after ?? '', limit) as RawRow[]).map(fromRaw);
    },
    countDue(w, s) {
      return (db.prepare(`SELECT count(*) AS n FROM dumb_urls WHERE key IS NOT NULL AND ${dueSql(w, s)}`).get() as { n: number }).n;
    },
    write(rows) {
      if (rows.length > 0) writeRows.immediate(rows);
      return rows.length;
    },
    all() {
      return (db.prepare(`SELECT ${COLUMNS} FROM dumb_urls`).all() as RawRow[]).map(fromRaw);
    },
    close: () => db.close(),
  };
}
