/**
 * A fleet worker's leases in PostgreSQL (the rules: lease.ts). Each shard has one round at a time
 * (dumb_shards: its window, how far it is cut, whether it checks everything); a worker joins the
 * rounds of its shards in progress or starts the next ones (startRounds). A claim, in one
 * transaction: an expired lease of those rounds, locked with FOR UPDATE SKIP LOCKED so that two
 * workers never take the same one; else a new batch, the next `batch` due URLs of a shard after its
 * cursor, cut under that shard's row lock (SKIP LOCKED first, so workers spread over shards); else
 * wait (leases still open) or done. Renewal and the final write check the owner: a lease taken over
 * is lost to its old owner.
 */
import { claimStep, roundStep } from './lease.js';
import { PG_COLUMNS, pgRow, writePgRows, type PgState, type Q } from './pg-state.js';
import type { UrlRow } from './row-update.js';
import { dueSql, type Schedule } from './schedule.js';
import type { Batch, Claim, LeaseSource } from './worker.js';

export interface FleetOptions {
  /** Unique among the workers: host, pid and a random part. */
  readonly owner: string;
  readonly shards: readonly number[];
  /** Check every URL of a round this worker starts. */
  readonly all: boolean;
  readonly batch: number;
  readonly leaseMs: number;
  readonly schedule: Schedule;
}

interface ShardRow {
  shard: number;
  round: number;
  round_from: number;
  round_to: number;
  cursor: string;
  all_due: boolean;
}

const SHARD_COLS = 'shard, round, round_from, round_to, cursor, all_due';
const MINE = '(shard, round) IN (SELECT * FROM UNNEST($1::int[], $2::int[]))';

export interface PgLeases extends LeaseSource {
  /** Shard -> the round this worker works on. */
  readonly rounds: ReadonlyMap<number, number>;
}

export async function pgLeases(state: PgState, o: FleetOptions): Promise<PgLeases> {
  const { tx, now } = state.conn;
  const rounds = await tx(async (q) => {
    const rows = (
      await q(
        `SELECT s.shard, s.round, s.exhausted, (SELECT count(*) FROM dumb_leases l WHERE l.shard = s.shard AND l.round = s.round AND NOT l.done)::int AS open
         FROM dumb_shards s WHERE s.shard = ANY($1::int[]) ORDER BY s.shard FOR UPDATE OF s`,
        [o.shards],
      )
    ).rows as { shard: number; round: number; exhausted: boolean; open: number }[];
    const starts = rows.filter((r) => roundStep(r) === 'start').map((r) => r.shard);
    if (starts.length > 0) {
      await q("UPDATE dumb_shards SET round = round + 1, round_from = round_to, round_to = $1, cursor = '', exhausted = false, all_due = $2 WHERE shard = ANY($3::int[])", [
        now(),
        o.all,
        starts,
      ]);
      await q('DELETE FROM dumb_leases WHERE shard = ANY($1::int[])', [starts]);
    }
    const started = new Set(starts);
    return new Map(rows.map((r) => [r.shard, started.has(r.shard) ? r.round + 1 : r.round]));
  });
  const pairs = [[...rounds.keys()], [...rounds.values()]];
  const dueIn = (sh: ShardRow) => dueSql({ from: sh.round_from, to: sh.round_to, all: sh.all_due }, o.schedule);
  const shardRow = async (q: Q, shard: number) => (await q(`SELECT ${SHARD_COLS} FROM dumb_shards WHERE shard = $1`, [shard])).rows[0] as ShardRow;

  const takeOver = async (q: Q, t: number): Promise<Batch | null> => {
    const l = (await q(`SELECT id, shard, lo, hi FROM dumb_leases WHERE NOT done AND expires <= $3 AND ${MINE} ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`, [...pairs, t]))
      .rows[0] as { id: number; shard: number; lo: string; hi: string } | undefined;
    if (!l) return null;
    await q('UPDATE dumb_leases SET owner = $1, expires = $2, takeovers = takeovers + 1 WHERE id = $3', [o.owner, t + o.leaseMs, l.id]);
    const sh = await shardRow(q, l.shard);
    const rows = await q(`SELECT ${PG_COLUMNS} FROM dumb_urls WHERE shard = $1 AND url > $2 AND url <= $3 AND key IS NOT NULL AND ${dueIn(sh)} ORDER BY url`, [l.shard, l.lo, l.hi]);
    return { id: Number(l.id), shard: l.shard, takenOver: true, rows: rows.rows.map(pgRow) };
  };

  // Only SKIP LOCKED here, never a wait for a row lock: a worker cutting may hold several shard rows
  // (the empty ones it marks exhausted on its way), but one that never waits closes no circle with
  // startRounds (which takes its rows in shard order) or another cutter.
  const cut = async (q: Q, t: number): Promise<Batch | null> => {
    for (;;) {
      const sh = (await q(`SELECT ${SHARD_COLS} FROM dumb_shards WHERE NOT exhausted AND ${MINE} ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED`, pairs)).rows[0] as ShardRow | undefined;
      if (!sh) return null;
      const rows = (
        await q(`SELECT ${PG_COLUMNS} FROM dumb_urls WHERE shard = $1 AND url > $2 AND key IS NOT NULL AND ${dueIn(sh)} ORDER BY url LIMIT $3`, [sh.shard, sh.cursor, o.batch])
      ).rows.map(pgRow) as UrlRow[];
      if (rows.length === 0) {
        await q('UPDATE dumb_shards SET exhausted = true WHERE shard = $1', [sh.shard]);
        continue;
      }
      const hi = rows[rows.length - 1]!.url;
      const id = (
        await q('INSERT INTO dumb_leases (shard, round, lo, hi, owner, expires, done, takeovers) VALUES ($1, $2, $3, $4, $5, $6, false, 0) RETURNING id', [
          sh.shard,
          sh.round,
          sh.cursor,
          hi,
          o.owner,
          t + o.leaseMs,
        ])
      ).rows[0].id as number;
      await q('UPDATE dumb_shards SET cursor = $1 WHERE shard = $2', [hi, sh.shard]);
      return { id: Number(id), shard: sh.shard, takenOver: false, rows };
    }
  };

  const claimOnce = (): Promise<Claim> =>
    tx(async (q) => {
      const t = now();
      const taken = await takeOver(q, t);
      if (taken) return { batch: taken };
      const fresh = await cut(q, t);
      if (fresh) return { batch: fresh };
      // No shard free to cut: others are cutting the rest (wait), or none is left.
      const uncut = (await q(`SELECT 1 FROM dumb_shards WHERE NOT exhausted AND ${MINE} LIMIT 1`, pairs)).rows.length > 0;
      const open = (await q(`SELECT count(*)::int AS n FROM dumb_leases WHERE NOT done AND ${MINE}`, pairs)).rows[0].n as number;
      return claimStep({ expired: false, uncut, open }) === 'done' ? { done: true } : { wait: true };
    });

  return {
    rounds,
    claim: claimOnce,
    renew: async (ids) => {
      const t = now();
      const res = await tx((q) => q('UPDATE dumb_leases SET expires = $1 WHERE owner = $2 AND NOT done AND expires > $3 AND id = ANY($4::bigint[]) RETURNING id', [t + o.leaseMs, o.owner, t, ids]));
      return res.rows.map((r) => Number(r.id));
    },
    record: (rows, done) =>
      tx(async (q) => {
        const n = await writePgRows(q, rows);
        if (done !== undefined) await q('UPDATE dumb_leases SET done = true WHERE id = $1 AND owner = $2', [done, o.owner]);
        return n;
      }),
  };
}
