/**
 * The tip index: which mirror holds which tips (the commits and tags its branches and tags point at),
 * so that a new or updated URL can borrow what the collection already holds (collection.ts). It is
 * a hint, never the truth: every answer is checked on disk before use, and a wrong one costs only a
 * plain clone. Kept in the state database, in its own table; `TipIndex` is all the rest of the code
 * sees: this file's SQLite one, and PostgreSQL's for a fleet (pg-tips.ts).
 *
 * Tips are stored as the first 16 hex digits of their object id (8 bytes a row instead of 40): a
 * collision only names a mirror that turns out not to hold the tip, which the check on disk catches.
 * At most MAX_TIPS per mirror, chosen by tipsOf (tips.ts), so a repository with a million tags costs
 * what 64 cost.
 */
import Database from 'better-sqlite3';
import { GrokError } from '../../shared/errors.js';

export interface TipIndex {
  /** The mirror (absolute path) holding the most of these tips, or null when none is recorded. */
  lookup(tips: readonly string[]): Promise<string | null>;
  /** `path` holds these tips now (replacing what was recorded for it). */
  record(path: string, tips: readonly string[]): Promise<void>;
  /** Nothing is known of `path` any more (it is gone). */
  forget(path: string): Promise<void>;
  close(): void;
}

export const TIP_PREFIX = 16;
/** SQLite's default limit of bound parameters is 32766; lookups are chunked well below it. */
const CHUNK = 500;

/** What a tip is stored and looked up as. */
export const tipPrefix = (oid: string) => oid.slice(0, TIP_PREFIX).toLowerCase();

/**
 * The SQLite tip index, in the state database's file (its own connection: WAL lets it write between
 * the state's checkpoints; the busy timeout covers the moments those overlap).
 */
export function openSqliteTipIndex(file: string): TipIndex {
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: 60_000 });
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE IF NOT EXISTS dumb_tips (tip TEXT NOT NULL, path TEXT NOT NULL, PRIMARY KEY (tip, path)) WITHOUT ROWID');
    db.exec('CREATE INDEX IF NOT EXISTS dumb_tips_by_path ON dumb_tips (path)');
  } catch (err) {
    throw new GrokError('GROK_ERR_STATUS_FILE', `cannot open the tip index in ${file}: ${(err as Error).message}`, { file }, { cause: err });
  }
  const del = db.prepare('DELETE FROM dumb_tips WHERE path = ?');
  const ins = db.prepare('INSERT OR IGNORE INTO dumb_tips (tip, path) VALUES (?, ?)');
  const record = db.transaction((p: string, tips: readonly string[]) => {
    del.run(p);
    for (const t of new Set(tips.map(tipPrefix))) ins.run(t, p);
  });
  return {
    async lookup(tips) {
      const hits = new Map<string, number>();
      const all = [...new Set(tips.map(tipPrefix))];
      for (let i = 0; i < all.length; i += CHUNK) {
        const part = all.slice(i, i + CHUNK);
        const rows = db.prepare(`SELECT path, COUNT(*) AS n FROM dumb_tips WHERE tip IN (${part.map(() => '?').join(',')}) GROUP BY path`).all(...part) as { path: string; n: number }[];
        for (const r of rows) hits.set(r.path, (hits.get(r.path) ?? 0) + r.n);
      }
      // Most tips first; the path breaks ties, so every process picks the same mirror.
      let best: string | null = null;
      let most = 0;
      for (const [p, n] of hits) if (n > most || (n === most && best !== null && p < best)) [best, most] = [p, n];
      return best;
    },
    async record(p, tips) {
      record.immediate(p, tips);
    },
    async forget(p) {
      del.run(p);
    },
    close: () => db.close(),
  };
}
