/**
 * What one grok-pull pass does to each repository, decided from the local manifest, the remote one,
 * and what is on disk (see spec/pull.md "Deciding per repo"). Pure: no I/O, tested with tables.
 */
import { matchesAny } from '../shared/glob.js';
import type { Manifest, ManifestEntry } from '../shared/manifest/entry.js';

export interface DiskRepo {
  readonly exists: boolean;
  /** grokmirror.fingerprint, as the repository says. */
  readonly fingerprint: string | null;
  /** A grokmirror.reclone file asks for a fresh copy (fsck writes it). */
  readonly reclone: boolean;
  readonly head: string | null;
  readonly description: string | null;
  readonly owner: string | null;
  /** Every symlink the entry lists exists and points at this repository. */
  readonly symlinksOk: boolean;
  /** The URL its remote fetches from; undefined when it could not be read without git. */
  readonly remoteUrl?: string | null;
  /** Its partial-clone mark (repo/promisor.ts partialMark); undefined when not looked at. */
  readonly partial?: string | true | null;
  /** objects/info/alternates names a directory outside this replica's toplevel and objstores. */
  readonly borrowsOutside?: boolean;
}

/** Where a repository is fetched from: the origin's site plus its manifest key. */
export function remoteUrl(site: string, key: string): string {
  return `${site.replace(/\/+$/, '')}${key}`;
}

export interface PullOptions {
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  readonly nopurge: readonly string[];
  readonly ffonly: readonly string[];
  readonly purge: boolean;
  readonly forcePurge: boolean;
  readonly purgeprotect: number;
  readonly defaultOwner: string;
  /** [remote] site: a repository whose remote points elsewhere gets its remote fixed. */
  readonly site?: string;
}

export interface RepoAction {
  readonly key: string;
  readonly entry: ManifestEntry;
  /** init: make it (built aside, renamed into place); reclone: replace it; update: work on it in place. */
  readonly op: 'init' | 'reclone' | 'update';
  readonly fixRemotes: boolean;
  readonly fixParams: boolean;
  readonly pull: boolean;
  /** The entry is archived and our local manifest did not say so yet: the one moment for an archive repack. */
  readonly newlyArchived: boolean;
}

export interface PullPlan {
  readonly actions: readonly RepoAction[];
  readonly purge: readonly string[];
  /** Set when purgeprotect held the purge back. */
  readonly purgeRefused: { readonly count: number; readonly total: number } | null;
  /** The remote manifest after include/exclude. */
  readonly wanted: ReadonlyMap<string, ManifestEntry>;
  /** Archived repositories we hold whose remote fingerprint moved: a fetch was due and is not done. */
  readonly archivedNotFetched: readonly string[];
}

export function isWanted(key: string, opts: Pick<PullOptions, 'include' | 'exclude'>): boolean {
  return matchesAny(key, opts.include) && !matchesAny(key, opts.exclude);
}

/**
 * An archived entry is cloned once when we do not have it (so its URLs answer here too), then never
 * fetched again, whatever its fingerprint says; its local entry still changes, so that the flag
 * reaches the next tier and projects.list, and an unarchived entry is fetched again at once.
 */
function repoAction(key: string, entry: ManifestEntry, local: ManifestEntry | undefined, disk: DiskRepo, opts: PullOptions): RepoAction | null {
  const archived = entry.archived === true;
  const newlyArchived = archived && local?.archived !== true;
  if (!disk.exists) return { key, entry, op: 'init', fixRemotes: true, fixParams: true, pull: true, newlyArchived };
  if (disk.reclone) return { key, entry, op: 'reclone', fixRemotes: true, fixParams: true, pull: true, newlyArchived };
  const stale = opts.site !== undefined && disk.remoteUrl !== undefined && disk.remoteUrl !== remoteUrl(opts.site, key);
  const fixRemotes = local === undefined || stale;
  const owner = entry.owner ?? opts.defaultOwner;
  const fixParams =
    (entry.description ?? null) !== disk.description || owner !== disk.owner || (entry.head !== null && entry.head !== disk.head) || !disk.symlinksOk;
  const pull = !archived && (fixRemotes || disk.fingerprint !== local?.fingerprint || disk.fingerprint !== entry.fingerprint);
  const flagChanged = (local?.archived === true) !== archived;
  // The local entry says what this replica holds: a partial clone is marked for the next tier.
  const markChanged = disk.partial !== undefined && (local?.partial ?? null) !== disk.partial;
  // The work on a repository first takes in what it borrows from outside (repo/foreign-alternates.ts).
  const repair = disk.borrowsOutside === true;
  return fixRemotes || fixParams || pull || flagChanged || markChanged || repair ? { key, entry, op: 'update', fixRemotes, fixParams, pull, newlyArchived } : null;
}

/**
 * `localRepos`: the repositories on disk (a walk) when purging; `borrowedFrom`: repositories others
 * use as alternates, which are never purged.
 */
export function planPull(
  local: Manifest,
  remote: Manifest,
  disk: (key: string) => DiskRepo,
  opts: PullOptions,
  localRepos: readonly string[] = [],
  borrowedFrom: ReadonlySet<string> = new Set(),
): PullPlan {
  const wanted = new Map<string, ManifestEntry>();
  for (const [k, e] of remote) if (isWanted(k, opts)) wanted.set(k, e);
  const actions: RepoAction[] = [];
  const archivedNotFetched: string[] = [];
  for (const [k, e] of wanted) {
    const d = disk(k);
    const a = repoAction(k, e, local.get(k), d, opts);
    if (a) actions.push(a);
    if (e.archived === true && d.exists && !d.reclone && d.fingerprint !== e.fingerprint) archivedNotFetched.push(k);
  }
  let purge: string[] = [];
  let purgeRefused: PullPlan['purgeRefused'] = null;
  if (opts.purge) {
    const have = new Set([...local.keys(), ...localRepos]);
    purge = [...have].filter((k) => !wanted.has(k) && !matchesAny(k, opts.nopurge) && !matchesAny(k, opts.ffonly) && !borrowedFrom.has(k)).sort();
    // Refuse a purge of purgeprotect percent or more of what we hold: a broken or truncated
    // remote manifest must not empty the mirror.
    if (purge.length > 0 && !opts.forcePurge && (purge.length * 100) / have.size >= opts.purgeprotect) {
      purgeRefused = { count: purge.length, total: have.size };
      purge = [];
    }
  }
  return { actions, purge, purgeRefused, wanted, archivedNotFetched };
}
