/**
 * When list mode checks a URL again. Pure; the same rule is evaluated in JavaScript (isDue, for
 * tests and single rows) and in SQL (dueSql, for claims over millions of rows).
 *
 * A sweep is a round over a time window (from, to]: the previous round's end to this round's start.
 * Three kinds of row:
 * - one with an explicit next check time (new rows: 0; failing ones: now + a doubling delay, at most
 *   `maxMs`) is due when that time is inside or before the window;
 * - one whose upstream answered as the mirror is has no next check time: it is due when its quiet
 *   time (time since its last change) passes a point of the schedule `firstMs, 2*firstMs,
 *   4*firstMs, ...` (while below `maxMs`), then every `maxMs`. So a repository that changed an hour
 *   ago is asked again soon, one quiet for a year once per `maxMs`, and, the point of it, an
 *   unchanged answer writes nothing: the next due point follows from the last change alone;
 * - `all` (a round asked to check everything) makes every row due.
 * Rounds tile time without gaps, so each schedule point falls in exactly one round.
 */

export interface Schedule {
  /** First check after a change, and the first delay after a failure (ms, >= 0). */
  readonly firstMs: number;
  /** Longest time between two checks of a URL, and the longest failure delay (ms, > 0). */
  readonly maxMs: number;
}

export interface RoundWindow {
  /** Exclusive start: the previous round's `to` (0 for a shard's first round). */
  readonly from: number;
  /** Inclusive end: when this round started. */
  readonly to: number;
  readonly all: boolean;
}

export interface ScheduleFacts {
  readonly nextCheck: number | null;
  readonly lastChanged: number | null;
}

/** The geometric points of the schedule (quiet times); after the last one, one point every maxMs. */
export function schedulePoints(s: Schedule): number[] {
  const points = [s.firstMs];
  for (let p = s.firstMs * 2; s.firstMs > 0 && p < s.maxMs; p *= 2) points.push(p);
  return points;
}

/** How many schedule points lie at or below quiet time `q`. */
export function pointsUpTo(q: number, s: Schedule): number {
  const points = schedulePoints(s);
  const last = points[points.length - 1]!;
  let n = 0;
  for (const p of points) if (q >= p) n++;
  if (q >= last + s.maxMs) n += Math.floor((q - last) / s.maxMs);
  return n;
}

export function isDue(row: ScheduleFacts, w: RoundWindow, s: Schedule): boolean {
  if (w.all) return true;
  if (row.nextCheck !== null) return row.nextCheck <= w.to;
  if (row.lastChanged === null) return true;
  return pointsUpTo(w.to - row.lastChanged, s) > pointsUpTo(w.from - row.lastChanged, s);
}

/** Delay before the next check after the `failures`-th failure in a row (1-based). */
export function failureDelayMs(failures: number, s: Schedule): number {
  // 2 ** 40 is far past any maxMs over firstMs; the cap keeps the product finite.
  return Math.min(s.maxMs, s.firstMs * 2 ** Math.min(Math.max(failures, 1) - 1, 40));
}

function int(n: number, what: string): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`${what} must be a safe integer, not ${n}`);
  return String(n);
}

/** pointsUpTo as an SQL expression over the integer expression `q` (SQLite and PostgreSQL). */
function pointsSql(q: string, s: Schedule): string {
  const points = schedulePoints(s);
  const last = points[points.length - 1]!;
  const parts = points.map((p) => `CASE WHEN ${q} >= ${int(p, 'point')} THEN 1 ELSE 0 END`);
  parts.push(`CASE WHEN ${q} >= ${int(last + s.maxMs, 'point')} THEN (${q} - ${int(last, 'point')}) / ${int(s.maxMs, 'maxMs')} ELSE 0 END`);
  return `(${parts.join(' + ')})`;
}

/**
 * isDue as an SQL condition on the columns next_check and last_changed. The window is written in as
 * integer literals (our own numbers, checked), so one statement is prepared per round.
 */
export function dueSql(w: RoundWindow, s: Schedule): string {
  if (w.all) return '1 = 1';
  const to = int(w.to, 'round end');
  const from = int(w.from, 'round start');
  const quiet = (t: string) => `(${t} - last_changed)`;
  return (
    `((next_check IS NOT NULL AND next_check <= ${to})` +
    ` OR (next_check IS NULL AND last_changed IS NULL)` +
    ` OR (next_check IS NULL AND ${pointsSql(quiet(to), s)} > ${pointsSql(quiet(from), s)}))`
  );
}
