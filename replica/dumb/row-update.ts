/**
 * What one check of a URL writes to its row in the state database. Pure. The rule that keeps a
 * sweep's writes proportional to what changed: a row whose every column would stay as it is is not
 * written (an upstream answering as before, checked again, costs no write: when it is due next
 * follows from its last change, schedule.ts). Failures get an explicit next check time, a doubling
 * delay bounded by the schedule's longest.
 */
import { failureDelayMs, type Schedule } from './schedule.js';
import type { RepoState, StateEntry } from './state.js';

export interface UrlRow {
  /** As stored and shown: credentials redacted. */
  readonly url: string;
  /** Manifest key; null for a URL refused by the path rules. */
  readonly key: string | null;
  readonly state: RepoState;
  /** refs-digest.ts of the mirror's refs after the last check; null when not known. */
  readonly digest: string | null;
  readonly attempts: number;
  readonly failures: number;
  readonly lastError: string | null;
  /** Epoch ms. */
  readonly lastChanged: number | null;
  /** Epoch ms; null: due by the schedule after lastChanged. */
  readonly nextCheck: number | null;
}

const FAILED: ReadonlySet<RepoState> = new Set(['not_found', 'auth_required', 'failed', 'invalid']);

/** The row after a check that ended in `out`; null when nothing in it changed. */
export function rowAfter(prev: UrlRow, out: StateEntry & { digest?: string }, nowMs: number, s: Schedule): UrlRow | null {
  const base = { url: prev.url, key: out.key ?? prev.key, state: out.state, attempts: out.attempts, failures: out.failures };
  let next: UrlRow;
  if (FAILED.has(out.state)) {
    next = { ...base, digest: prev.digest, lastError: out.lastError ?? null, lastChanged: prev.lastChanged, nextCheck: nowMs + failureDelayMs(out.failures, s) };
  } else if (out.state === 'fetched') {
    next = { ...base, digest: out.digest ?? null, lastError: null, lastChanged: nowMs, nextCheck: null };
  } else {
    next = { ...base, digest: out.digest ?? prev.digest, lastError: null, lastChanged: prev.lastChanged ?? nowMs, nextCheck: null };
  }
  return sameRow(prev, next) ? null : next;
}

export function sameRow(a: UrlRow, b: UrlRow): boolean {
  return (
    a.key === b.key &&
    a.state === b.state &&
    a.digest === b.digest &&
    a.attempts === b.attempts &&
    a.failures === b.failures &&
    a.lastError === b.lastError &&
    a.lastChanged === b.lastChanged &&
    a.nextCheck === b.nextCheck
  );
}
