/**
 * One worker's part of a sweep: claim a batch of due URLs (a lease), check them `jobs` at a time,
 * claim the next batch before the queue runs dry, renew the leases held (lease.ts), and record each
 * batch's changed rows with its lease marked done, in one transaction. Changed rows of batches still
 * in progress are recorded at most every `checkpointMs` (checkpoint.ts), so a worker killed mid-batch loses little: whoever
 * takes its expired lease checks the batch's URLs that are still due, and a URL recorded as fetched
 * is no longer due, so it is not fetched twice. A lease found lost at renewal (it expired and another
 * worker took it) is left to that worker: its URLs not started yet are dropped here.
 * With SQLite the source is local (localLeases): one process, batches of the due list, nothing expires.
 */
import type { Logger } from '../../shared/log.js';
import { Checkpoint } from './checkpoint.js';
import { renewEveryMs } from './lease.js';
import type { UrlRow } from './row-update.js';

export interface Batch {
  readonly id: number;
  readonly shard: number;
  /** Taken over from a worker whose lease expired. */
  readonly takenOver: boolean;
  readonly rows: readonly UrlRow[];
}

export type Claim = { readonly batch: Batch } | { readonly wait: true } | { readonly done: true };

export interface LeaseSource {
  claim(): Promise<Claim>;
  /** Extends these leases; returns those still held (an expired one may have been taken). */
  renew(ids: readonly number[]): Promise<number[]>;
  /** Writes rows; with `done`, also marks that lease finished, in one transaction. Returns rows written. */
  record(rows: readonly UrlRow[], done?: number): Promise<number>;
}

export interface WorkerOptions {
  readonly jobs: number;
  readonly leaseMs: number;
  readonly checkpointMs: number;
}

export interface WorkerDeps {
  readonly source: LeaseSource;
  /** Checks one URL; its row's new content, or null when nothing is to be written. */
  readonly check: (row: UrlRow) => Promise<UrlRow | null>;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  readonly log: Logger;
}

export interface WorkerStats {
  leases: number;
  takenOver: number;
  lost: number;
  checked: number;
  written: number;
}

interface Held {
  readonly batch: Batch;
  remaining: number;
  writes: UrlRow[];
  lost: boolean;
}

export async function runWorker(o: WorkerOptions, d: WorkerDeps): Promise<WorkerStats> {
  const stats: WorkerStats = { leases: 0, takenOver: 0, lost: 0, checked: 0, written: 0 };
  const held = new Map<number, Held>();
  const queue: { row: UrlRow; held: Held }[] = [];
  let finished = false;
  let claiming: Promise<void> | null = null;
  const pollMs = Math.max(20, Math.min(1000, Math.floor(o.leaseMs / 4)));

  const finish = async (h: Held): Promise<void> => {
    held.delete(h.batch.id);
    const n = await d.source.record(h.writes.splice(0), h.lost ? undefined : h.batch.id);
    stats.written += n;
  };
  const claimMore = async (): Promise<void> => {
    const c = await d.source.claim();
    if ('batch' in c) {
      const h: Held = { batch: c.batch, remaining: c.batch.rows.length, writes: [], lost: false };
      stats.leases++;
      if (c.batch.takenOver) {
        stats.takenOver++;
        d.log.info({ action: 'lease' }, `took over batch ${c.batch.id} of shard ${c.batch.shard} (its worker's lease expired): ${c.batch.rows.length} URLs still due`);
      }
      held.set(h.batch.id, h);
      if (h.remaining === 0) await finish(h);
      for (const row of c.batch.rows) queue.push({ row, held: h });
    } else if ('wait' in c) await d.sleep(pollMs);
    else finished = true;
  };
  const next = async (): Promise<{ row: UrlRow; held: Held } | null> => {
    for (;;) {
      if (!finished && claiming === null && queue.length < o.jobs) claiming = claimMore().finally(() => (claiming = null));
      const item = queue.shift();
      if (item) return item;
      if (finished) return null;
      await claiming;
    }
  };
  const runner = async (): Promise<void> => {
    for (let item = await next(); item !== null; item = await next()) {
      const h = item.held;
      if (!h.lost) {
        const w = await d.check(item.row);
        stats.checked++;
        if (w) h.writes.push(w);
        checkpoint.poke();
      }
      if (--h.remaining === 0) await finish(h);
    }
  };
  const flush = async (): Promise<void> => {
    const writes = [...held.values()].flatMap((h) => h.writes.splice(0));
    if (writes.length === 0) return;
    const n = await d.source.record(writes);
    stats.written += n;
  };
  const checkpoint = new Checkpoint(flush, o.checkpointMs, d.now);
  const renew = async (): Promise<void> => {
    const ids = [...held.keys()];
    if (ids.length === 0) return;
    const still = new Set(await d.source.renew(ids));
    for (const id of ids) {
      const h = held.get(id);
      if (!h || still.has(id) || h.lost) continue;
      h.lost = true;
      stats.lost++;
      d.log.warn({ action: 'lease' }, `lost batch ${id} of shard ${h.batch.shard} (its lease expired and another worker may have taken it); its unchecked URLs are left to that worker`);
    }
  };
  // Renewal runs on a timer (checks may be slow); a failure there (the database gone) ends the sweep.
  let failed: unknown = null;
  const busy = new Set<Promise<void>>();
  const tick = (fn: () => Promise<void>) => () => {
    const p: Promise<void> = fn()
      .catch((err: unknown) => void (failed ??= err))
      .finally(() => busy.delete(p));
    busy.add(p);
  };
  const timer = setInterval(tick(renew), renewEveryMs(o.leaseMs));
  try {
    await Promise.all(Array.from({ length: o.jobs }, runner));
  } finally {
    clearInterval(timer);
    await Promise.all(busy);
    await checkpoint.settle();
    await flush();
  }
  if (failed) throw failed;
  return stats;
}

/**
 * One process's leases over its due rows (SQLite): batches of `batch` rows in order, taken from the
 * iterable as they are claimed (a paged read: state-db.ts dueRows); none expires or is lost.
 */
export function localLeases(due: Iterable<UrlRow>, batch: number, write: (rows: readonly UrlRow[]) => number | Promise<number>): LeaseSource {
  const it = due[Symbol.iterator]();
  let id = 0;
  let exhausted = false;
  return {
    async claim() {
      const rows: UrlRow[] = [];
      while (!exhausted && rows.length < batch) {
        const n = it.next();
        if (n.done) exhausted = true;
        else rows.push(n.value);
      }
      if (rows.length === 0) return { done: true };
      return { batch: { id: ++id, shard: 0, takenOver: false, rows } };
    },
    renew: async (ids) => [...ids],
    record: async (rows) => (rows.length > 0 ? write(rows) : 0),
  };
}
