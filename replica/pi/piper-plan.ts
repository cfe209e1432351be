/**
 * What grok-pi-piper pipes, decided without touching anything: where to start in a repository (its
 * state and its sibling epochs' states), what each commit of a public-inbox epoch is, and where a
 * rewritten history resumes. docs/public-inbox.md explains the rules.
 */

/** git's empty blob: what public-inbox-purge leaves in place of a purged message. */
export const EMPTY_BLOB = 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391';
/** How many of the last piped messages the state remembers, to find its place after a rewrite. */
export const RECENT_KEPT = 64;

export interface PiperState {
  /** The last commit handled (piped, or skipped as a deletion or a purge). */
  readonly commit: string;
  /** Its committer time (seconds); 0 when unknown (state taken over from grokmirror). */
  readonly ct: number;
  /** When following this list began, on this machine's clock (seconds); 0 when unknown. */
  readonly since: number;
  /** Commits handled here since following began (not counting older ones); absent: grokmirror's state. */
  readonly handled?: number;
  /** Blob ids of the last RECENT_KEPT piped messages, oldest first. */
  readonly recent: readonly string[];
  /** A commit whose message was being piped when the state was last written. */
  readonly inflight?: string;
}

/** One commit of an epoch: the message it adds (`m`), or that it records a deletion (`d`). */
export interface EpochCommit {
  readonly commit: string;
  readonly ct: number;
  /** The blob written as `m` by this commit, if any. */
  readonly m?: string;
  /** The commit writes `d`: a deletion record, never a message to pipe. */
  readonly d?: boolean;
}

export interface Sibling {
  readonly epoch: number;
  readonly state: PiperState | null;
}

export type Start =
  /** Record the tip and pipe nothing: the first run on a list (grokmirror's initial setup), or an older epoch. */
  | { readonly kind: 'init'; readonly since: number; readonly why: string }
  /** A new epoch of a followed list: pipe its history from the first commit (from `minCt` on, when set). */
  | { readonly kind: 'root'; readonly since: number; readonly minCt: number | null; readonly why: string }
  | { readonly kind: 'continue'; readonly from: string }
  | { readonly kind: 'last'; readonly n: number };

export interface StartInput {
  readonly epoch: number;
  readonly state: PiperState | null;
  /** The other epochs of the list on disk, with their states. */
  readonly siblings: readonly Sibling[];
  /** -l N (null or 0: not given). */
  readonly pipeLast: number | null;
  /** Now, in seconds. */
  readonly now: number;
}

export function planStart(input: StartInput): Start {
  if (input.pipeLast) return { kind: 'last', n: input.pipeLast };
  if (input.state) return { kind: 'continue', from: input.state.commit };
  const known = input.siblings.map((s) => s.state?.since ?? 0).filter((t) => t > 0);
  const since = known.length > 0 ? Math.min(...known) : input.now;
  if (input.siblings.some((s) => s.epoch > input.epoch)) return { kind: 'init', since, why: 'an older epoch: a newer one is already here' };
  const followed = input.siblings.filter((s) => s.epoch < input.epoch && s.state).sort((a, b) => b.epoch - a.epoch)[0];
  if (!followed?.state) return { kind: 'init', since, why: 'a list not followed before' };
  const s = followed.state;
  // The previous epoch took commits while followed: it was the current one then, so this epoch
  // began later and all of it is new.
  if (s.handled === undefined || s.handled > 0) {
    return { kind: 'root', since, minCt: null, why: `a new epoch after epoch ${followed.epoch}, which took messages while followed` };
  }
  // Otherwise this epoch may have existed already (cloned in the same pass as the previous one) when
  // following began: only what was committed from then on is new.
  if (!s.since) return { kind: 'init', since, why: `epoch ${followed.epoch} took nothing yet and when following began is unknown` };
  return { kind: 'root', since, minCt: s.since, why: `a new epoch after epoch ${followed.epoch}; messages committed from ${new Date(s.since * 1000).toISOString()} on` };
}

export type CommitKind = 'message' | 'purged' | 'deletion' | 'other';

export function classify(c: EpochCommit): CommitKind {
  if (c.m !== undefined) return c.m === EMPTY_BLOB ? 'purged' : 'message';
  return c.d ? 'deletion' : 'other';
}

/** A new epoch's commits that are new: all of them, or those committed from `minCt` on. */
export function isNew(c: EpochCommit, minCt: number | null): boolean {
  return minCt === null || c.ct >= minCt;
}

export interface Resumed {
  /** Commits to go through, oldest first. */
  readonly commits: readonly EpochCommit[];
  /** 'anchor': resumed after the newest message already piped; 'date': none found, resumed by commit time. */
  readonly how: 'anchor' | 'date';
  readonly anchor?: string;
}

/**
 * After a rewrite (the last handled commit is no longer in the history): public-inbox rewrites keep
 * every other message's blob, so the newest commit whose message was among the last piped ones marks
 * where piping stopped; everything after it is new. When none is found (all of them purged or edited),
 * the commits dated after the last handled one are.
 */
export async function resumeAfterRewrite(newestFirst: AsyncIterable<EpochCommit> | Iterable<EpochCommit>, state: PiperState): Promise<Resumed> {
  const recent = new Set(state.recent);
  const seen: EpochCommit[] = [];
  for await (const c of newestFirst) {
    if (c.m !== undefined && recent.has(c.m)) return { commits: seen.reverse(), how: 'anchor', anchor: c.commit };
    seen.push(c);
  }
  return { commits: seen.filter((c) => c.ct > state.ct).reverse(), how: 'date' };
}

/** The state after going through `c`: `piped` when its message was piped, `counted` unless it predates following. */
export function advance(state: PiperState, c: EpochCommit, piped: boolean, counted = true): PiperState {
  const { inflight: _done, ...rest } = state;
  const recent = piped && c.m !== undefined ? [...state.recent, c.m].slice(-RECENT_KEPT) : state.recent;
  const handled = counted && state.handled !== undefined ? state.handled + 1 : state.handled;
  return { ...rest, commit: c.commit, ct: c.ct, recent, ...(handled !== undefined ? { handled } : {}) };
}
