/**
 * What grok-pull --status reads without the daemon: after every pass (one-shot or the daemon's, full
 * or targeted), `<toplevel>/.grok-pull-status.json` says when it ran and how it ended, which
 * repositories are failing (git's message, since when, how many passes in a row) and when the next
 * try is due. Written by a PullEvents observer (events.ts), synchronously at the pass's end: a one-shot
 * exits right after. `recordAfterPass` is pure.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { atomicWriteSmallSync } from '../shared/fs/atomic.js';
import { describeError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { PassSummary, PullEvents, RepoDone } from './events.js';

export const PASS_RECORD = '.grok-pull-status.json';
/** --status with no pass recorded (or none readable): a monitoring check's "unknown". */
export const EXIT_UNKNOWN = 3;

export interface FailingRepo {
  readonly error: string;
  /** ISO times: the first failure of this run of failures, and the latest. */
  readonly since: string;
  readonly last: string;
  /** Passes in a row that failed it. */
  readonly attempts: number;
}

export interface PassRecord {
  readonly lastPass: (Omit<PassSummary, 'held'> & { readonly at: string; readonly pid: number }) | null;
  readonly failing: Readonly<Record<string, FailingRepo>>;
  /** When the next pass is due (the daemon's next refresh); null: at the next grok-pull run (a timer's). */
  readonly nextRetry: string | null;
}

export const EMPTY_RECORD: PassRecord = { lastPass: null, failing: {}, nextRetry: null };

/**
 * The record after a pass that worked on `results`. A full pass that got to work re-judged every
 * repository: one failing before and not worked on now has nothing left to do (or left the manifest).
 * A pass that failed as a whole (the manifest could not be read) or found it unchanged leaves the
 * failures as they were; a targeted pass changes only the repositories it worked on.
 */
export function recordAfterPass(prev: PassRecord, pass: PassSummary, results: readonly RepoDone[], nowMs: number, nextRetryMs: number | null, pid: number): PassRecord {
  const at = new Date(nowMs).toISOString();
  const failing: Record<string, FailingRepo> = pass.kind === 'full' && pass.status === 'done' ? {} : { ...prev.failing };
  for (const r of results) {
    if (r.result === 'failed') {
      const was = prev.failing[r.key];
      failing[r.key] = { error: r.error ?? 'failed', since: was?.since ?? at, last: at, attempts: (was?.attempts ?? 0) + 1 };
    } else if (r.result !== 'deferred') {
      delete failing[r.key];
    } else if (prev.failing[r.key]) {
      failing[r.key] = prev.failing[r.key]!;
    }
  }
  const { held: _held, ...summary } = pass;
  return { lastPass: { ...summary, at, pid }, failing, nextRetry: nextRetryMs === null ? null : new Date(nowMs + nextRetryMs).toISOString() };
}

export function readPassRecord(toplevel: string): PassRecord | null {
  let text: string;
  try {
    text = readFileSync(path.join(toplevel, PASS_RECORD), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const r = JSON.parse(text) as Partial<PassRecord> | null;
  if (typeof r !== 'object' || r === null) throw new Error('not a JSON object');
  return { lastPass: r.lastPass ?? null, failing: r.failing ?? {}, nextRetry: r.nextRetry ?? null };
}

/** The observer that keeps the record; `nextRetryMs`: the daemon's refresh, null for a one-shot. */
export function passRecorder(toplevel: string, deps: { readonly now: () => number; readonly log: Logger; readonly nextRetryMs: number | null }): PullEvents {
  let results: RepoDone[] = [];
  return {
    onPassStart: () => void (results = []),
    onRepoDone: (r) => void results.push(r),
    onPassDone: (pass) => {
      try {
        // An unreadable record (cut short by a full disk, edited by hand) is started again.
        let prev = EMPTY_RECORD;
        try {
          prev = readPassRecord(toplevel) ?? EMPTY_RECORD;
        } catch (err) {
          deps.log.warn(`${path.join(toplevel, PASS_RECORD)} unreadable (${describeError(err)}); starting it again`);
        }
        const next = recordAfterPass(prev, pass, results, deps.now(), deps.nextRetryMs, process.pid);
        atomicWriteSmallSync(path.join(toplevel, PASS_RECORD), `${JSON.stringify(next, null, 1)}\n`);
      } catch (err) {
        deps.log.warn(`cannot record the pass for grok-pull --status: ${describeError(err)}`);
      }
      results = [];
    },
  };
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : s < 172_800 ? `${Math.round(s / 3600)}h ago` : `${Math.round(s / 86_400)}d ago`;
}

/** The first line of an error, whitespace folded, at most 300 characters: one line per repository. */
function oneLine(error: string): string {
  const line = error.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

/**
 * grok-pull --status: what to print, and the exit status: 0 when the last pass ended well and nothing
 * is failing, 1 when a repository is failing or the last pass failed, 3 when no pass was recorded yet
 * (a monitoring check's "unknown").
 */
export function statusReport(toplevel: string, record: PassRecord | null, nowMs: number, daemonPid: number | null): { lines: string[]; code: number } {
  const lines = [`toplevel ${toplevel}${daemonPid !== null ? `; grok-pull -o running, pid ${daemonPid}` : ''}`];
  const p = record?.lastPass;
  if (!record || !p) return { lines: [...lines, 'no pass recorded yet'], code: EXIT_UNKNOWN };
  const counts = p.status === 'failed' ? `failed: ${p.error ?? 'unknown error'}` : p.status === 'unchanged' ? 'remote manifest unchanged' : `${p.cloned} cloned, ${p.updated} updated, ${p.fixed ?? 0} fixed, ${p.purged} purged, ${p.deferred} deferred, ${p.failed} failed`;
  lines.push(`last pass: ${p.at} (${ago(nowMs - Date.parse(p.at))}, ${p.kind}, ${(p.ms / 1000).toFixed(1)}s, pid ${p.pid}): ${oneLine(counts)}`);
  const failing = Object.entries(record.failing).sort(([a], [b]) => (a < b ? -1 : 1));
  const retry = record.nextRetry ? `next retry by ${record.nextRetry}` : 'next retry at the next grok-pull run';
  lines.push(failing.length === 0 ? 'no repository failing' : `${failing.length} repositories failing (${retry}):`);
  for (const [key, f] of failing) lines.push(`${key}: ${oneLine(f.error)} (since ${f.since}, ${f.attempts} ${f.attempts === 1 ? 'pass' : 'passes in a row'})`);
  return { lines, code: failing.length > 0 || p.status === 'failed' ? 1 : 0 };
}
