/**
 * The state database in PostgreSQL (`--state postgres://...`): the same rows as SQLite's
 * (state-db.ts), plus each URL's shard (shards.ts), and the round and lease tables through which any
 * number of workers on any number of machines share the list (pg-lease.ts). One connection per
 * worker, one transaction at a time on it. Times are the server's clock (read once at connect, kept
 * as an offset), so that machines agree on when a lease expires. The URL's password is never shown:
 * `where` is the URL redacted, and connection errors name that.
 */
import type pg from 'pg';
import { GrokError } from '../../shared/errors.js';
import { redactUrls, safeText } from '../../shared/safe-text.js';
import type { UrlRow } from './row-update.js';
import { dueSql, type RoundWindow, type Schedule } from './schedule.js';
import { shardOf, SHARD_COUNT } from './shards.js';
import { fromRaw, legacyRows, rowParams } from './state-db.js';
import type { StateStore } from './state-store.js';

// Advisory lock keys (any constants): schema creation, list syncs.
const SCHEMA_LOCK = 0x67726f6b01;
const LIST_LOCK = 0x67726f6b02;

// The tip index (pg-tips.ts), by toplevel id; a database made before it had none, so it is also made on its own.
const TIPS_SCHEMA = [
  'CREATE TABLE IF NOT EXISTS dumb_tips (scope TEXT NOT NULL, tip TEXT NOT NULL, path TEXT COLLATE "C" NOT NULL, PRIMARY KEY (scope, tip, path))',
  'CREATE INDEX IF NOT EXISTS dumb_tips_by_path ON dumb_tips (scope, path)',
];

const SCHEMA = [
  'CREATE TABLE IF NOT EXISTS dumb_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)',
  // COLLATE "C": batches are cut in URL order, which must not depend on the server's locale.
  `CREATE TABLE IF NOT EXISTS dumb_urls (url TEXT COLLATE "C" PRIMARY KEY, key TEXT, shard INTEGER NOT NULL, state TEXT NOT NULL, digest TEXT,
     attempts INTEGER NOT NULL, failures INTEGER NOT NULL, last_error TEXT, last_changed BIGINT, next_check BIGINT)`,
  'CREATE INDEX IF NOT EXISTS dumb_urls_shard ON dumb_urls (shard, url)',
  `CREATE TABLE IF NOT EXISTS dumb_shards (shard INTEGER PRIMARY KEY, round INTEGER NOT NULL, round_from BIGINT NOT NULL, round_to BIGINT NOT NULL,
     cursor TEXT COLLATE "C" NOT NULL, all_due BOOLEAN NOT NULL, exhausted BOOLEAN NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS dumb_leases (id BIGSERIAL PRIMARY KEY, shard INTEGER NOT NULL, round INTEGER NOT NULL, lo TEXT COLLATE "C" NOT NULL,
     hi TEXT COLLATE "C" NOT NULL, owner TEXT NOT NULL, expires BIGINT NOT NULL, done BOOLEAN NOT NULL, takeovers INTEGER NOT NULL)`,
  ...TIPS_SCHEMA,
  // Last: its presence says the schema is there (openPgState).
  'CREATE INDEX IF NOT EXISTS dumb_leases_open ON dumb_leases (shard, round) WHERE NOT done',
];
export const PG_COLUMNS = 'url, key, state, digest, attempts, failures, last_error, last_changed, next_check';

export type Q = (sql: string, params?: unknown[]) => Promise<pg.QueryResult>;

export interface PgConnection {
  /** Runs `fn` in one transaction, after the ones queued before it. */
  tx<T>(fn: (q: Q) => Promise<T>): Promise<T>;
  /** The server's clock, epoch ms. */
  now(): number;
}

export interface PgState extends StateStore {
  readonly conn: PgConnection;
  meta(name: string): Promise<string | undefined>;
  syncList(digest: string, items: readonly { url: string; key: string }[], refused: readonly { url: string; why: string }[]): Promise<boolean>;
  due(w: RoundWindow, s: Schedule, after: string | null, limit: number): Promise<UrlRow[]>;
  countDue(w: RoundWindow, s: Schedule): Promise<number>;
  all(): Promise<UrlRow[]>;
  close(): Promise<void>;
}

/** Rows read back: the same columns as SQLite's. */
export const pgRow = fromRaw;

const CHUNK = 5000;

/** Writes rows (their URLs are their identity) with one statement per chunk. */
export async function writePgRows(q: Q, rows: readonly UrlRow[]): Promise<number> {
  // In URL order: two workers writing overlapping rows (a lease taken over) lock them in one order.
  const sorted = [...rows].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
  for (let i = 0; i < sorted.length; i += CHUNK) {
    const cols: unknown[][] = Array.from({ length: 9 }, () => []);
    for (const r of sorted.slice(i, i + CHUNK)) rowParams(r).forEach((v, c) => cols[c]!.push(v));
    await q(
      `UPDATE dumb_urls u SET key = v.key, state = v.state, digest = v.digest, attempts = v.attempts, failures = v.failures, last_error = v.last_error,
         last_changed = v.last_changed, next_check = v.next_check
       FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::text[], $8::bigint[], $9::bigint[])
         AS v(url, key, state, digest, attempts, failures, last_error, last_changed, next_check)
       WHERE u.url = v.url`,
      cols,
    );
  }
  return rows.length;
}

async function insertRows(q: Q, rows: readonly UrlRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    const part = rows.slice(i, i + CHUNK);
    const cols: unknown[][] = Array.from({ length: 10 }, () => []);
    for (const r of part) [...rowParams(r), r.key === null ? -1 : shardOf(r.key)].forEach((v, c) => cols[c]!.push(v));
    await q(
      `INSERT INTO dumb_urls (${PG_COLUMNS}, shard) SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::text[],
         $8::bigint[], $9::bigint[], $10::int[]) ON CONFLICT (url) DO NOTHING`,
      cols,
    );
  }
}

async function connect(url: string, where: string): Promise<{ client: pg.Client; conn: PgConnection }> {
  const { default: pgLib } = await import('pg');
  // BIGINT columns hold epoch milliseconds: numbers, not strings.
  const types = { getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === 20 ? Number : pgLib.types.getTypeParser(oid, format)) };
  const client = new pgLib.Client({ connectionString: url, application_name: 'grok-dumb-pull', types: types as pg.CustomTypesConfig });
  // A connection lost later surfaces in the query that needed it; this keeps it from crashing the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    throw new GrokError('GROK_ERR_STATUS_FILE', `cannot connect to the state database ${where}: ${safeText((err as Error).message)}`, { where });
  }
  let queue: Promise<unknown> = Promise.resolve();
  const tx = <T>(fn: (q: Q) => Promise<T>): Promise<T> => {
    const run = queue.then(async () => {
      await client.query('BEGIN');
      try {
        const out = await fn((sql, params) => client.query(sql, params));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
    queue = run.catch(() => undefined);
    return run;
  };
  const clock = await client.query('SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS t');
  const offset = Number(clock.rows[0].t) - Date.now();
  return { client, conn: { tx, now: () => Date.now() + offset } };
}

export async function openPgState(url: string): Promise<PgState> {
  const where = redactUrls(url);
  const { client, conn } = await connect(url, where);
  const { tx } = conn;
  try {
    await tx(async (q) => {
      await q('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      // No DDL once the schema is there (its last index names it): CREATE INDEX IF NOT EXISTS locks
      // its table (SHARE) before it finds the index, and, taken table after table while other
      // workers' claims write them, deadlocked a worker starting beside a running one.
      const ready = (await q("SELECT to_regclass('dumb_leases_open') IS NOT NULL AS ok")).rows[0].ok === true;
      if (!ready) for (const s of SCHEMA) await q(s);
      // A database made before the tip index: only its new table, which no other worker is using yet.
      else if ((await q("SELECT to_regclass('dumb_tips_by_path') IS NULL AS missing")).rows[0].missing === true) for (const s of TIPS_SCHEMA) await q(s);
      await q("INSERT INTO dumb_meta (name, value) VALUES ('shards', $1) ON CONFLICT (name) DO NOTHING", [String(SHARD_COUNT)]);
      const shards = (await q("SELECT value FROM dumb_meta WHERE name = 'shards'")).rows[0].value as string;
      if (Number(shards) !== SHARD_COUNT) throw new GrokError('GROK_ERR_STATUS_FILE', `state database ${where} has ${shards} shards; this grok-dumb-pull knows ${SHARD_COUNT}`);
      await q("INSERT INTO dumb_shards SELECT s, 0, 0, 0, '', false, true FROM generate_series(0, $1::int - 1) AS s ON CONFLICT DO NOTHING", [SHARD_COUNT]);
    });
  } catch (err) {
    await client.end().catch(() => undefined);
    if (err instanceof GrokError) throw err;
    throw new GrokError('GROK_ERR_STATUS_FILE', `cannot set up the state database ${where}: ${safeText((err as Error).message)}`, { where });
  }
  const meta = async (name: string) => (await tx((q) => q('SELECT value FROM dumb_meta WHERE name = $1', [name]))).rows[0]?.value as string | undefined;
  const putMeta = (q: Q, name: string, value: string) => q('INSERT INTO dumb_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [name, value]);
  return {
    where,
    conn,
    meta,
    setMeta: (name, value) => tx((q) => putMeta(q, name, value)).then(() => undefined),
    async importJson(json) {
      if ((await meta('imported')) !== undefined) return false;
      const rows = await legacyRows(json);
      await tx(async (q) => {
        await insertRows(q, rows);
        await putMeta(q, 'imported', json);
      });
      return rows.length;
    },
    syncList: (digest, items, refused) =>
      tx(async (q) => {
        // Every worker of the fleet starts with this; the first to come with a new list applies it.
        await q('SELECT pg_advisory_xact_lock($1)', [LIST_LOCK]);
        if ((await q("SELECT value FROM dumb_meta WHERE name = 'list_digest'")).rows[0]?.value === digest) return false;
        await q('CREATE TEMP TABLE listed (url TEXT COLLATE "C" PRIMARY KEY, key TEXT, shard INTEGER NOT NULL, why TEXT) ON COMMIT DROP');
        const put = async (rows: { url: string; key: string | null; why: string | null }[]) => {
          for (let i = 0; i < rows.length; i += CHUNK) {
            const part = rows.slice(i, i + CHUNK);
            await q('INSERT INTO listed SELECT * FROM UNNEST($1::text[], $2::text[], $3::int[], $4::text[]) ON CONFLICT (url) DO NOTHING', [
              part.map((r) => r.url),
              part.map((r) => r.key),
              part.map((r) => (r.key === null ? -1 : shardOf(r.key))),
              part.map((r) => r.why),
            ]);
          }
        };
        // Kept URLs first: a refused duplicate that reads, redacted, as a kept URL leaves its row be.
        await put(items.map((it) => ({ url: redactUrls(it.url), key: it.key, why: null })));
        await put(refused.map((r) => ({ url: redactUrls(r.url), key: null, why: safeText(r.why) })));
        await q(
          `INSERT INTO dumb_urls (${PG_COLUMNS}, shard) SELECT url, key, 'pending', NULL, 0, 0, NULL, NULL, 0, shard FROM listed WHERE key IS NOT NULL
           ON CONFLICT (url) DO UPDATE SET key = excluded.key, shard = excluded.shard, state = 'pending', next_check = 0, last_error = NULL
           WHERE dumb_urls.key IS DISTINCT FROM excluded.key`,
        );
        await q(
          `INSERT INTO dumb_urls (${PG_COLUMNS}, shard) SELECT url, NULL, 'invalid', NULL, 0, 0, why, NULL, NULL, -1 FROM listed WHERE key IS NULL
           ON CONFLICT (url) DO UPDATE SET key = NULL, shard = -1, state = 'invalid', next_check = NULL, last_error = excluded.last_error
           WHERE dumb_urls.key IS NOT NULL OR dumb_urls.last_error IS DISTINCT FROM excluded.last_error`,
        );
        await q('DELETE FROM dumb_urls u WHERE NOT EXISTS (SELECT 1 FROM listed l WHERE l.url = u.url)');
        await putMeta(q, 'list_digest', digest);
        return true;
      }),
    // url is COLLATE "C": pages in byte order, as SQLite's; '' sorts before every URL (the first page).
    due: async (w, s, after, limit) =>
      (await tx((q) => q(`SELECT ${PG_COLUMNS} FROM dumb_urls WHERE key IS NOT NULL AND url > $1 AND ${dueSql(w, s)} ORDER BY url LIMIT $2`, [after ?? '', limit]))).rows.map(pgRow),
    countDue: async (w, s) => Number((await tx((q) => q(`SELECT count(*) AS n FROM dumb_urls WHERE key IS NOT NULL AND ${dueSql(w, s)}`))).rows[0]!.n),
    write: (rows) => (rows.length === 0 ? 0 : tx((q) => writePgRows(q, rows))),
    all: async () => (await tx((q) => q(`SELECT ${PG_COLUMNS} FROM dumb_urls ORDER BY url`))).rows.map(pgRow),
    close: async () => {
      await tx(async () => undefined).catch(() => undefined);
      await client.end();
    },
  };
}
