/**
 * What list mode needs of its state database, whichever holds it: SQLite (state-db.ts, one sweep
 * at a time under the file's lock) or PostgreSQL (pg-state.ts, any number of workers sharing one
 * list through leases, lease.ts). Methods may answer at once (SQLite) or later (PostgreSQL): callers
 * always await. URLs are stored and returned with credentials redacted; errors through safeText.
 */
import type { UrlRow } from './row-update.js';
import type { RoundWindow, Schedule } from './schedule.js';

export type Maybe<T> = T | Promise<T>;

export interface StateStore {
  /** Where the state is, for messages: a file, or a postgres:// URL without its password. */
  readonly where: string;
  meta(name: string): Maybe<string | undefined>;
  setMeta(name: string, value: string): Maybe<void>;
  /** Rows as a JSON state file recorded them, each due at once; once per database (false: done before). */
  importJson(file: string): Promise<number | false>;
  /** Makes the rows those of the list: new URLs pending and due, gone ones deleted, refused ones invalid. */
  syncList(digest: string, items: readonly { url: string; key: string }[], refused: readonly { url: string; why: string }[]): Maybe<boolean>;
  /**
   * One page of the due rows: at most `limit`, in URL order, after the URL `after` (null: from the
   * start). A sweep pages through (state-db.ts dueRows), so its memory is a page whatever the list's
   * size, and rows it writes meanwhile (all behind the page) are never seen twice.
   */
  due(w: RoundWindow, s: Schedule, after: string | null, limit: number): Maybe<UrlRow[]>;
  /** How many rows are due (one scan; for the sweep's opening line and its not-due count). */
  countDue(w: RoundWindow, s: Schedule): Maybe<number>;
  /** Writes these rows in one transaction; returns how many. */
  write(rows: readonly UrlRow[]): Maybe<number>;
  all(): Maybe<UrlRow[]>;
  close(): Maybe<void>;
}

/** `--state` names a PostgreSQL database (a fleet) rather than a SQLite file. */
export const isPostgresUrl = (s: string) => /^postgres(?:ql)?:\/\//i.test(s);
