/**
 * What grok-pull -o is doing and how far behind it is, kept from the pull events (events.ts) and from
 * what the daemon tells it (notices queued, queue depth). No I/O: the clock is injected, and
 * snapshot() derives everything the status page, /status.json and /metrics show.
 *
 * Lag: how far behind the origin this replica may be. Two things make it up, and the larger counts:
 * - known changes: seconds since the oldest origin change this replica knows of and has not applied
 *   yet. It knows of a change when a feed or socket notice names a repository, when the feed says to
 *   re-read the manifest, or when a full pass finds the remote manifest changed. A change is applied
 *   by a pass that started after it was known: a repository's notice when that repository is worked
 *   on, or when a targeted pass or a full pass that read a changed manifest ends; a manifest change
 *   when a full pass ends. A failed pass applies nothing. A repository whose update failed stops
 *   counting towards lag and shows among the failing instead, or one broken repository would hold
 *   lag up for ever.
 * - changes it cannot know of: seconds since the last confirmed contact with the origin (the change
 *   feed connected, or a manifest check answered), since anything pushed after that is unseen.
 *   While the feed is connected that is nothing; without it, it grows until the next poll (up to
 *   `refresh`), and without any answer from the origin it grows for as long as the origin is down,
 *   however many pushes it has taken meanwhile. Contact is overdue past `refresh` and a minute:
 *   the page then says so.
 *
 * Failing repositories are not kept here: they are the pass record's (pass-record.ts), the same that
 * grok-pull --status reads, with the running pass's results applied (pass-recorder.ts). A restart
 * keeps when each began to fail and how many passes in a row it did; a one-shot pass run by hand
 * between the daemon's passes shows here as soon as it has written the record.
 */
import { silentLogger } from '../../shared/log.js';
import { safeText } from '../../shared/safe-text.js';
import type { About } from './about.js';
import { allEvents, type ManifestChecked, type PassKind, type PassSummary, type PlanInfo, type PullEvents, type RepoDone, type RepoResult } from '../events.js';
import { memoryRecordStore, passRecorder, type PassRecorder } from '../pass-recorder.js';

export const ACTIVITY_SIZE = 50;
/** Failing repositories listed in a snapshot (all are counted). */
export const FAILING_LISTED = 1000;
const ERROR_CHARS = 2000;

/** Times are seconds since the epoch, like the `.remote` state file. */
export interface FailingRepo {
  readonly key: string;
  readonly op: RepoDone['op'];
  readonly error: string;
  /** Last failure, and the first of this run of failures. */
  readonly at: number;
  readonly since: number;
  readonly failures: number;
}

export interface Activity {
  readonly at: number;
  /** A repository's result, or a pass's kind. */
  readonly what: RepoResult | 'full pass' | 'notice pass' | 'manifest check' | 'fsck';
  readonly ok: boolean;
  readonly key?: string;
  readonly seconds?: number;
  readonly bytes?: number;
  readonly detail?: string;
}

type Counts<K extends string> = Record<K, number>;

/** How an fsck_cron run of grok-fsck ended: done, skipped (another grok-fsck held its lock), or failed. */
export type FsckOutcome = 'done' | 'busy' | 'failed';

export interface StatusSnapshot {
  readonly now: number;
  readonly started_at: number;
  /** Repositories in the local manifest; null until known. */
  readonly repos: number | null;
  readonly failing_repos: number;
  /** The first failure of the longest-failing repository failing now: it is behind from then; null when none fails. */
  readonly failing_since: number | null;
  readonly lag_seconds: number;
  /** When the oldest unapplied change became known; null when none is known. */
  readonly behind_since: number | null;
  /** The last confirmed contact with the origin (now while the feed is connected); null: none yet. */
  readonly last_contact_at: number | null;
  /** No contact for longer than the polls explain (`refresh` and a minute). */
  readonly contact_overdue: boolean;
  /** The change feed: connected, not connected (down, or never reached), or not used. */
  readonly feed: 'connected' | 'disconnected' | 'none';
  readonly since_full_pass_seconds: number;
  /** [pull] refresh: the interval of full passes, which retry every failing repository. */
  readonly refresh_seconds: number;
  /** When the next full pass is due (the refresh timer); null when not known. */
  readonly next_full_pass_at: number | null;
  readonly about: About | null;
  readonly last_full_pass_at: number | null;
  /** Feed and socket notices waiting for the work loop. */
  readonly queue: number;
  readonly bytes_fetched: number;
  /** Bytes downloaded besides git's: whole manifests (a full pass that found it changed) and the change feed. */
  readonly bytes_downloaded: { readonly manifest: number; readonly feed: number };
  readonly last_manifest_check: { readonly at: number; readonly status: ManifestChecked['status']; readonly error?: string } | null;
  readonly last_pass: (Omit<PassSummary, 'ms' | 'held'> & { readonly at: number; readonly seconds: number }) | null;
  readonly working: { readonly kind: PassKind; readonly since: number; readonly total: number | null; readonly done: number } | null;
  /** grok-fsck running from fsck_cron: passes wait for it (manifest checks go on); null when none runs. */
  readonly fsck: { readonly since: number } | null;
  readonly last_fsck: { readonly at: number; readonly seconds: number; readonly status: FsckOutcome; readonly errors: number } | null;
  readonly fsck_runs: Counts<FsckOutcome>;
  readonly passes: Record<PassKind, Counts<PassSummary['status']>>;
  readonly manifest_checks: Counts<ManifestChecked['status']>;
  readonly repo_updates: Counts<RepoResult>;
  /** Most recent failure first. */
  readonly failing: readonly FailingRepo[];
  /** Most recent first. */
  readonly activity: readonly Activity[];
}

/** The oldest of some epoch-ms times, or null for none. */
export function oldest(times: Iterable<number>): number | null {
  let min: number | null = null;
  for (const t of times) if (min === null || t < min) min = t;
  return min;
}

/** Seconds behind, given when the oldest unapplied change became known (null: in sync). */
export function lagSeconds(behindSince: number | null, now: number): number {
  return behindSince === null ? 0 : Math.max(0, now - behindSince) / 1000;
}

const passCounts = (): Counts<PassSummary['status']> => ({ done: 0, unchanged: 0, failed: 0 });
const sec = (ms: number) => ms / 1000;
// Errors quote git and the origin: credentials redacted, control characters escaped (the page and
// status.json are served without authentication).
const clip = (s: string) => safeText(s, ERROR_CHARS);
/** Contact may lapse this long beyond the poll interval before it is overdue. */
const CONTACT_GRACE_MS = 60_000;

export class StatusTracker {
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly refreshMs: number;
  private feedState: StatusSnapshot['feed'];
  private lastContact: number | null = null;
  private held: number | null = null;
  private queue = 0;
  private bytes = 0;
  /** Bytes downloaded besides git's: whole manifests, and the change feed. */
  private readonly downloaded = { manifest: 0, feed: 0 };
  private lastCheck: StatusSnapshot['last_manifest_check'] = null;
  private lastPass: StatusSnapshot['last_pass'] = null;
  private lastFullPassAt: number | null = null;
  private nextFullPass: number | null = null;
  private readonly about: About | null;
  private current: { kind: PassKind; since: number; total: number | null; done: number } | null = null;
  private readonly passRecord: PassRecorder;
  /** Unapplied changes, epoch ms when known: per repository, and "the manifest as a whole". */
  private readonly notices = new Map<string, number>();
  private manifestSince: number | null = null;
  private readonly passes: Record<PassKind, Counts<PassSummary['status']>> = { full: passCounts(), targeted: passCounts() };
  private readonly checks: Counts<ManifestChecked['status']> = { unchanged: 0, fetched: 0, failed: 0 };
  private readonly results: Counts<RepoResult> = { cloned: 0, updated: 0, fixed: 0, failed: 0, deferred: 0 };
  private readonly activity: Activity[] = [];
  private fsckSince: number | null = null;
  private lastFsck: StatusSnapshot['last_fsck'] = null;
  private readonly fsckRuns: Counts<FsckOutcome> = { done: 0, busy: 0, failed: 0 };

  /** For PullDeps.events: the tracker's handlers, bound. */
  readonly events: Required<PullEvents>;

  /**
   * `refreshSeconds`: the poll interval ([pull] refresh); `feed`: whether a change feed is followed;
   * `record`: the pass record's keeper, told every event through `events` (the daemon's keeps the
   * toplevel's file; without one, a record in memory).
   */
  constructor(deps: { readonly now: () => number; readonly refreshSeconds?: number; readonly feed?: boolean; readonly about?: About; readonly record?: PassRecorder }) {
    this.now = deps.now;
    this.about = deps.about ?? null;
    this.startedAt = deps.now();
    this.refreshMs = (deps.refreshSeconds ?? 900) * 1000;
    this.feedState = deps.feed ? 'disconnected' : 'none';
    this.passRecord = deps.record ?? passRecorder(memoryRecordStore(), { now: deps.now, log: silentLogger(), nextRetryAt: () => this.nextFullPass });
    const own: Required<PullEvents> = {
      onPassStart: (p) => this.passStart(p.kind),
      onManifestChecked: (c) => this.manifestChecked(c),
      onPlan: (p) => this.plan(p),
      onRepoDone: (r) => this.repoDone(r),
      onPassDone: (s) => this.passDone(s),
    };
    this.events = allEvents(own, this.passRecord);
  }

  /** A change the origin announced: a repository's key, or null for "re-read the whole manifest". */
  noticed(key: string | null): void {
    const at = this.now();
    if (key === null) this.manifestSince ??= at;
    else if (!this.notices.has(key)) this.notices.set(key, at);
  }

  /**
   * The change feed connected (a contact that lasts) or was lost: contact ended when it last sent
   * anything (`lastHeard`, epoch ms; a keep-alive at least every 15 s), not when the loss was noticed.
   */
  feedConnected(up: boolean, lastHeard?: number): void {
    if (this.feedState === 'none') return;
    this.lastContact = up || lastHeard === undefined ? this.now() : Math.min(lastHeard, this.now());
    this.feedState = up ? 'connected' : 'disconnected';
  }

  /** Bytes the change feed sent. */
  feedBytes(n: number): void {
    this.downloaded.feed += n;
  }

  /** The origin has no change feed (a grokmirror origin): polls are all there is, as without one. */
  feedMissing(): void {
    this.feedState = 'none';
  }

  /** The refresh timer was set or fired: the next full pass is due at `at` (epoch ms). */
  setNextFullPass(at: number): void {
    this.nextFullPass = at;
  }

  setQueueDepth(n: number): void {
    this.queue = n;
  }

  /** Repositories in the local manifest (the daemon reads it at start; passes report it after). */
  setHeld(n: number): void {
    this.held = n;
  }

  /** grok-fsck started from fsck_cron: the work loop holds passes until fsckDone. */
  fsckStarted(): void {
    this.fsckSince = this.now();
  }

  /** `counts`: what a done run did (its log line's); `error`: why it failed. */
  fsckDone(status: FsckOutcome, counts?: { readonly checked: number; readonly repacked: number; readonly errors: number }, error?: string): void {
    const errors = counts?.errors ?? 0;
    const at = this.now();
    const seconds = sec(at - (this.fsckSince ?? at));
    this.fsckSince = null;
    this.fsckRuns[status]++;
    this.lastFsck = { at: sec(at), seconds, status, errors };
    const detail = status === 'failed' ? clip(error ?? 'failed') : status === 'busy' ? 'skipped: another grok-fsck was running' : `${counts?.checked ?? 0} checked, ${counts?.repacked ?? 0} repacked, ${errors} with errors`;
    this.record({ at: sec(at), what: 'fsck', ok: status !== 'failed' && errors === 0, seconds, detail });
  }

  private record(a: Activity): void {
    this.activity.push(a);
    if (this.activity.length > ACTIVITY_SIZE) this.activity.splice(0, this.activity.length - ACTIVITY_SIZE);
  }

  private passStart(kind: PassKind): void {
    this.current = { kind, since: this.now(), total: null, done: 0 };
  }

  private manifestChecked(c: ManifestChecked): void {
    const at = this.now();
    this.checks[c.status]++;
    this.downloaded.manifest += c.bytes ?? 0;
    this.lastCheck = { at: sec(at), status: c.status, ...(c.error !== undefined ? { error: clip(c.error) } : {}) };
    if (c.status !== 'failed') this.lastContact = at;
    // A changed manifest is known from the moment this pass started reading it.
    if (c.status === 'fetched') this.manifestSince ??= this.current?.since ?? at;
    if (c.status === 'failed') this.record({ at: sec(at), what: 'manifest check', ok: false, detail: clip(c.error ?? 'failed') });
  }

  private plan(p: PlanInfo): void {
    if (this.current) this.current.total = p.total;
  }

  private repoDone(r: RepoDone): void {
    const at = this.now();
    this.results[r.result]++;
    this.bytes += r.bytes ?? 0;
    if (this.current) {
      this.current.done++;
      if ((this.notices.get(r.key) ?? Infinity) <= this.current.since) this.notices.delete(r.key);
    }
    this.record({
      at: sec(at),
      what: r.result,
      ok: r.ok,
      key: r.key,
      seconds: sec(r.ms),
      ...(r.bytes !== undefined ? { bytes: r.bytes } : {}),
      ...(r.error !== undefined ? { detail: clip(r.error) } : {}),
    });
  }

  private passDone(s: PassSummary): void {
    const at = this.now();
    const started = this.current?.since ?? at;
    this.current = null;
    this.passes[s.kind][s.status]++;
    if (s.held !== undefined) this.held = s.held;
    const { ms, held: _held, ...rest } = s;
    this.lastPass = { ...rest, ...(s.error !== undefined ? { error: clip(s.error) } : {}), at: sec(at), seconds: sec(ms) };
    if (s.status === 'failed') {
      this.record({ at: sec(at), what: s.kind === 'full' ? 'full pass' : 'notice pass', ok: false, seconds: sec(ms), detail: clip(s.error ?? 'failed') });
      return;
    }
    // What was known before this pass started is now applied (or failing, which is shown apart). A
    // full pass that found the manifest unchanged did not look at the repositories named in notices.
    if (s.kind === 'targeted' || s.status === 'done') for (const [key, t] of this.notices) if (t <= started) this.notices.delete(key);
    if (s.kind === 'full' && this.manifestSince !== null && this.manifestSince <= started) this.manifestSince = null;
    if (s.kind === 'full') this.lastFullPassAt = at;
    if (s.status === 'done') {
      const parts = Object.entries({ cloned: s.cloned, updated: s.updated, fixed: s.fixed ?? 0, purged: s.purged, deferred: s.deferred, failed: s.failed }).filter(([, n]) => n > 0);
      this.record({
        at: sec(at),
        what: s.kind === 'full' ? 'full pass' : 'notice pass',
        ok: s.failed === 0,
        seconds: sec(ms),
        detail: parts.length > 0 ? parts.map(([k, n]) => `${n} ${k}`).join(', ') : 'nothing to do',
      });
    }
  }

  /** The record's failing set as the snapshot lists it (the record keeps errors as served: redacted and clipped). */
  private failingRepos(): FailingRepo[] {
    return Object.entries(this.passRecord.failingNow()).map(([key, f]) => ({
      key,
      op: f.op ?? 'update',
      error: f.error,
      at: Date.parse(f.last) / 1000,
      since: Date.parse(f.since) / 1000,
      failures: f.attempts,
    }));
  }

  snapshot(): StatusSnapshot {
    const now = this.now();
    const failing = this.failingRepos();
    const behind = oldest([...this.notices.values(), ...(this.manifestSince !== null ? [this.manifestSince] : [])]);
    const contact = this.feedState === 'connected' ? now : this.lastContact;
    const sinceContact = lagSeconds(contact ?? this.startedAt, now);
    const cur = this.current;
    return {
      now: sec(now),
      started_at: sec(this.startedAt),
      repos: this.held,
      failing_repos: failing.length,
      failing_since: oldest(failing.map((f) => f.since)),
      lag_seconds: Math.max(lagSeconds(behind, now), sinceContact),
      behind_since: behind === null ? null : sec(behind),
      last_contact_at: contact === null ? null : sec(contact),
      contact_overdue: sinceContact * 1000 > this.refreshMs + CONTACT_GRACE_MS,
      feed: this.feedState,
      since_full_pass_seconds: Math.max(0, now - (this.lastFullPassAt ?? this.startedAt)) / 1000,
      last_full_pass_at: this.lastFullPassAt === null ? null : sec(this.lastFullPassAt),
      refresh_seconds: this.refreshMs / 1000,
      next_full_pass_at: this.nextFullPass === null ? null : sec(this.nextFullPass),
      about: this.about,
      queue: this.queue,
      bytes_fetched: this.bytes,
      bytes_downloaded: { ...this.downloaded },
      last_manifest_check: this.lastCheck,
      last_pass: this.lastPass,
      working: cur ? { kind: cur.kind, since: sec(cur.since), total: cur.total, done: cur.done } : null,
      fsck: this.fsckSince === null ? null : { since: sec(this.fsckSince) },
      last_fsck: this.lastFsck,
      fsck_runs: { ...this.fsckRuns },
      passes: { full: { ...this.passes.full }, targeted: { ...this.passes.targeted } },
      manifest_checks: { ...this.checks },
      repo_updates: { ...this.results },
      failing: failing.sort((a, b) => b.at - a.at || a.key.localeCompare(b.key)).slice(0, FAILING_LISTED),
      activity: [...this.activity].reverse(),
    };
  }
}
