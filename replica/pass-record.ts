/**
 * The one home of "which repositories are failing": after every pass (one-shot or the daemon's, full
 * or targeted), `<toplevel>/.grok-pull-status.json` says when it ran and how it ended, which
 * repositories are failing (git's message, since when, how many passes in a row) and when the next
 * try is due. grok-pull --status prints it; the daemon's status page, /status.json and /metrics
 * (status/tracker.ts) show it too, read from the same file with the running pass's results applied
 * by the same rules, so a restart, or a one-shot pass run by hand between the daemon's passes,
 * leaves both saying the same. Read and written by pass-recorder.ts (a PullEvents observer,
 * synchronously at the pass's end: a one-shot exits right after); everything here is pure.
 */
import { safeText } from '../shared/safe-text.js';
import type { PassSummary, RepoDone } from './events.js';

export const PASS_RECORD = '.grok-pull-status.json';
/** --status with no pass recorded (or none readable): a monitoring check's "unknown". */
export const EXIT_UNKNOWN = 3;
/** An error is kept to this many characters: git's message, not a whole transcript. */
const ERROR_CHARS = 2000;

export interface FailingRepo {
  readonly error: string;
  /** What the failed work was (init: a clone); absent in records written before it was kept. */
  readonly op?: RepoDone['op'];
  /** ISO times: the first failure of this run of failures, and the latest. */
  readonly since: string;
  readonly last: string;
  /** Passes in a row that failed it. */
  readonly attempts: number;
}

export type FailingSet = Readonly<Record<string, FailingRepo>>;

export interface PassRecord {
  readonly lastPass: (Omit<PassSummary, 'held'> & { readonly at: string; readonly pid: number }) | null;
  readonly failing: FailingSet;
  /** When the next full pass is due (the daemon's refresh timer, as its status page says); null: at the next grok-pull run (a timer's). */
  readonly nextRetry: string | null;
}

export const EMPTY_RECORD: PassRecord = { lastPass: null, failing: {}, nextRetry: null };

/** A repository's result and when it came (epoch ms; the pass's end when not known). */
export type TimedResult = RepoDone & { readonly at?: number };

/**
 * The failing set with a pass's results so far applied, in order: a failure starts or continues a
 * run of failures, work done ends it, a repository locked elsewhere (deferred) keeps what it had.
 * Errors are stored as the status page serves them: credentials redacted, control characters escaped.
 */
export function failingWith(prev: FailingSet, results: readonly TimedResult[], nowMs: number): Record<string, FailingRepo> {
  const failing: Record<string, FailingRepo> = { ...prev };
  for (const r of results) {
    if (r.result === 'failed') {
      const was = failing[r.key];
      const at = new Date(r.at ?? nowMs).toISOString();
      failing[r.key] = { error: safeText(r.error ?? 'failed', ERROR_CHARS), op: r.op, since: was?.since ?? at, last: at, attempts: (was?.attempts ?? 0) + 1 };
    } else if (r.result !== 'deferred') {
      delete failing[r.key];
    }
  }
  return failing;
}

/**
 * The record after a pass that worked on `results`. A full pass that got to work re-judged every
 * repository: one failing before and not worked on now has nothing left to do (or left the manifest).
 * A pass that failed as a whole (the manifest could not be read) or found it unchanged leaves the
 * failures as they were; a targeted pass changes only the repositories it worked on.
 */
export function recordAfterPass(prev: PassRecord, pass: PassSummary, results: readonly TimedResult[], nowMs: number, nextRetryAt: number | null, pid: number): PassRecord {
  const at = new Date(nowMs).toISOString();
  const failing = failingWith(prev.failing, results, nowMs);
  if (pass.kind === 'full' && pass.status === 'done') {
    const touched = new Set(results.map((r) => r.key));
    for (const key of Object.keys(failing)) if (!touched.has(key)) delete failing[key];
  }
  const { held: _held, ...summary } = pass;
  return { lastPass: { ...summary, at, pid }, failing, nextRetry: nextRetryAt === null ? null : new Date(nextRetryAt).toISOString() };
}

const isFailingRepo = (f: unknown): f is FailingRepo => {
  const r = f as Partial<FailingRepo> | null;
  return typeof r === 'object' && r !== null && typeof r.error === 'string' && typeof r.since === 'string' && typeof r.last === 'string' && Number.isFinite(Date.parse(r.since)) && Number.isFinite(Date.parse(r.last)) && Number.isInteger(r.attempts);
};

/** The record in `text`; a failing entry a hand edit left without its fields is dropped (the next failure brings it back). */
export function parsePassRecord(text: string): PassRecord {
  const r = JSON.parse(text) as Partial<PassRecord> | null;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new Error('not a JSON object');
  const failing = typeof r.failing === 'object' && r.failing !== null ? Object.fromEntries(Object.entries(r.failing).filter(([, f]) => isFailingRepo(f))) : {};
  return { lastPass: r.lastPass ?? null, failing, nextRetry: r.nextRetry ?? null };
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
