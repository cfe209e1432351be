/**
 * The rules of a fleet's leases, pure (pg-lease.ts runs them in transactions; tests check them at
 * each boundary). A round of a shard is cut, in URL order, into batches; each batch is a lease: an
 * owner and an expiry time on the database's clock. The owner renews it while it works (every third
 * of its life) and marks it done in the transaction that writes the batch's rows. A lease whose
 * expiry has come (a worker killed with -9, a machine lost, a worker that stalled longer than a
 * lease) is taken by the next worker that asks, which checks the batch's URLs that are still due;
 * the old owner finds it lost at its next renewal and drops what it had not started. A worker ends
 * its part of a round only when no batch is left to cut and no lease of the round is open, so a
 * dead worker's batch is never lost while another worker of the shard is running.
 */

export interface LeaseFacts {
  readonly owner: string;
  /** Epoch ms, the database's clock. */
  readonly expires: number;
  readonly done: boolean;
}

/** A lease is held until its expiry time; from that instant on, anyone may take it. */
export function leaseExpired(l: LeaseFacts, now: number): boolean {
  return !l.done && l.expires <= now;
}

/** Whether `owner` may renew (and so still holds) the lease at `now`. */
export function leaseHeldBy(l: LeaseFacts, owner: string, now: number): boolean {
  return !l.done && l.owner === owner && l.expires > now;
}

/** How often a worker renews what it holds: three renewals fit in one lease's life. */
export function renewEveryMs(leaseMs: number): number {
  return Math.max(1, Math.floor(leaseMs / 3));
}

export interface ShardRoundFacts {
  /** Every due URL of the current round is in some batch already. */
  readonly exhausted: boolean;
  /** Leases of the current round not done (expired or not). */
  readonly open: number;
}

/** A worker arriving joins the shard's round in progress, or starts the next one when it is over. */
export function roundStep(s: ShardRoundFacts): 'join' | 'start' {
  return s.exhausted && s.open === 0 ? 'start' : 'join';
}

export interface ClaimFacts {
  /** An expired lease of these rounds could be locked. */
  readonly expired: boolean;
  /** A shard of these rounds has URLs not yet in a batch. */
  readonly uncut: boolean;
  /** Leases of these rounds not done, whoever holds them (the asker's own included). */
  readonly open: number;
}

/** What a claim does: take over an expired lease first, then cut a new batch, else wait or stop. */
export function claimStep(f: ClaimFacts): 'take-over' | 'cut' | 'wait' | 'done' {
  if (f.expired) return 'take-over';
  if (f.uncut) return 'cut';
  return f.open > 0 ? 'wait' : 'done';
}
