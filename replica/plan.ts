/**
 * What one grok-pull pass does to each repository, decided from the local manifest, the remote one,
 * and what is on disk (docs/architecture.md "Where each decision lives"). Pure: no I/O, tested with tables.
 */
import { matchesAny } from '../shared/glob.js';
import { sameEntry, type Manifest, type ManifestEntry } from '../shared/manifest/entry.js';
import { keyToUrlPath } from '../shared/manifest/keys.js';

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

/**
 * Where a repository is fetched from: the origin's site plus its manifest key, percent-encoded when
 * the site is a URL (git decodes http(s)://, git://, ssh:// and file:// paths; a bare `%41` in a
 * key would otherwise make it fetch another repository), as it is when the site is a local path.
 */
export function remoteUrl(site: string, key: string): string {
  const base = site.replace(/\/+$/, '');
  return `${base}${/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(base) ? keyToUrlPath(key) : key}`;
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

export interface Refusal {
  readonly key: string;
  readonly why: string;
}

export interface PullPlan {
  readonly actions: readonly RepoAction[];
  /**
   * Wanted entries whose place clashes with the rest of the manifest (layoutProblems): held back like
   * entries refused on reading, neither worked on nor purged.
   */
  readonly refused: readonly Refusal[];
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
 * How closely a pass looks at a wanted repository before planning, so that a pass costs what
 * changed, not what the manifest holds (docs/architecture.md "A pass at scale"): `full` (git's view
 * of it) for an entry we do not hold yet, one the manifest changed, or a partial clone not marked
 * yet; for an entry held exactly as the manifest has it, `quick` (its files: still there, its
 * fingerprint, a reclone mark) when the pass rechecks everything (-n, recheck_cron), else `none`:
 * the recorded entry stands for the disk (recordedDisk).
 */
export function diskLook(entry: ManifestEntry, held: ManifestEntry | undefined, recheck: boolean, unmarkedPartial: boolean): 'full' | 'quick' | 'none' {
  if (held === undefined || unmarkedPartial || !sameEntry(held, entry, 'partial')) return 'full';
  return recheck ? 'quick' : 'none';
}

/** What the disk is taken to be when it is not looked at: the repository as the local entry records it. */
export function recordedDisk(held: ManifestEntry): DiskRepo {
  return { exists: true, fingerprint: held.fingerprint, reclone: false, head: held.head, description: held.description ?? null, owner: held.owner ?? null, symlinksOk: true };
}

/**
 * An archived entry is cloned once when we do not have it (so its URLs answer here too), then never
 * fetched again, whatever its fingerprint says; its local entry still changes, so that the flag
 * reaches the next tier and projects.list, and an unarchived entry is fetched again at once.
 */
function repoAction(key: string, entry: ManifestEntry, local: ManifestEntry | undefined, disk: DiskRepo, opts: PullOptions, notified: boolean): RepoAction | null {
  const archived = entry.archived === true;
  const newlyArchived = archived && local?.archived !== true;
  if (!disk.exists) return { key, entry, op: 'init', fixRemotes: true, fixParams: true, pull: true, newlyArchived };
  if (disk.reclone) return { key, entry, op: 'reclone', fixRemotes: true, fixParams: true, pull: true, newlyArchived };
  const stale = opts.site !== undefined && disk.remoteUrl !== undefined && disk.remoteUrl !== remoteUrl(opts.site, key);
  const fixRemotes = local === undefined || stale;
  // As grokmirror: default_owner stands in for a missing owner when comparing; only an entry's own owner is ever written.
  const ownerDiffers = entry.owner !== undefined && entry.owner !== (disk.owner ?? opts.defaultOwner);
  const fixParams =
    (entry.description ?? null) !== disk.description || ownerDiffers || (entry.head !== null && entry.head !== disk.head) || !disk.symlinksOk;
  const pull = !archived && (notified || fixRemotes || disk.fingerprint !== local?.fingerprint || disk.fingerprint !== entry.fingerprint);
  const flagChanged = (local?.archived === true) !== archived;
  // The local entry says what this replica holds: a partial clone is marked for the next tier.
  const markChanged = disk.partial !== undefined && (local?.partial ?? null) !== disk.partial;
  // The work on a repository first takes in what it borrows from outside (repo/foreign-alternates.ts).
  const repair = disk.borrowsOutside === true;
  return fixRemotes || fixParams || pull || flagChanged || markChanged || repair ? { key, entry, op: 'update', fixRemotes, fixParams, pull, newlyArchived } : null;
}

/** Calls `fn` with each directory above a key, outermost first ("/a/b/c.git": "/a", "/a/b") until it answers. */
function someParent<T>(key: string, fn: (dir: string) => T | null): T | null {
  for (let i = key.indexOf('/', 1); i > 0; i = key.indexOf('/', i + 1)) {
    const r = fn(key.slice(0, i));
    if (r !== null) return r;
  }
  return null;
}

/**
 * Why entries' places clash with each other, keyed by the entry to hold back. The disk is checked
 * too (local-paths.ts), but only as it is before the pass: a symlink one entry creates during the
 * pass must not become a way into another repository for an entry worked on after it. So, over the
 * whole manifest: an entry whose symlink names a repository, lies inside one or under another
 * symlink, has repositories below it, or is listed by two entries is held back (its symlink is never
 * made); then a key inside another repository, or under a symlink of an entry that is not held back.
 * `only`: judge just these entries (the ones a pass works on), against all of them.
 */
export function layoutProblems(entries: ReadonlyMap<string, ManifestEntry>, only?: Iterable<string>): Map<string, string> {
  const links = new Map<string, string[]>();
  for (const [k, e] of entries) for (const s of e.symlinks ?? []) links.set(s, [...(links.get(s) ?? []), k]);
  // Whether a path has repositories of the manifest below it. Symlinks of entries worked on are few:
  // a scan each for the first ones, a set of every key's directories only when there are many.
  let dirs: Set<string> | null = null;
  let scans = 0;
  const hasBelow = (s: string): boolean => {
    if (!dirs && ++scans <= 16) {
      const prefix = `${s}/`;
      for (const k of entries.keys()) if (k.startsWith(prefix)) return true;
      return false;
    }
    if (!dirs) {
      dirs = new Set();
      for (const k of entries.keys()) {
        someParent(k, (p) => {
          dirs!.add(p);
          return null;
        });
      }
    }
    return dirs.has(s);
  };
  const linkProblem = (k: string): string | null => {
    for (const s of entries.get(k)?.symlinks ?? []) {
      const q = JSON.stringify(s);
      if (entries.has(s)) return `lists a symlink ${q} that is a repository in the manifest`;
      if (hasBelow(s)) return `lists a symlink ${q} where the manifest has repositories below`;
      const others = links.get(s)!.filter((o) => o !== k);
      if (others.length > 0) return `lists a symlink ${q} that ${others[0]} lists too`;
      const why = someParent(s, (p) => {
        if (entries.has(p)) return `lists a symlink ${q} inside ${p}, a repository in the manifest`;
        const by = links.get(p);
        return by ? `lists a symlink ${q} under ${p}, which ${by[0]} lists as its symlink` : null;
      });
      if (why) return why;
    }
    return null;
  };
  const judged = [...(only ?? entries.keys())];
  const out = new Map<string, string>();
  for (const k of judged) {
    const why = linkProblem(k);
    if (why) out.set(k, why);
  }
  for (const k of judged) {
    if (out.has(k)) continue;
    const why = someParent(k, (p) => {
      if (entries.has(p)) return `lies inside ${p}, another repository in the manifest`;
      const by = links.size > 0 ? links.get(p)?.filter((o) => !out.has(o)) : undefined;
      return by?.length ? `lies under ${p}, which ${by[0]} lists as its symlink` : null;
    });
    if (why) out.set(k, why);
  }
  return out;
}

/**
 * `localRepos`: the repositories on disk (a walk) when purging; `borrowedFrom`: repositories others
 * use as alternates, which are never purged; `held`: keys of entries refused before planning (on
 * reading the manifest), which are never purged either: a refusal must not cost the mirror;
 * `notified`: keys a notice named (a socket notice carries no entry, so no fingerprint says the
 * origin moved): fetched unless archived.
 */
export function planPull(
  local: Manifest,
  remote: Manifest,
  disk: (key: string) => DiskRepo,
  opts: PullOptions,
  localRepos: readonly string[] = [],
  borrowedFrom: ReadonlySet<string> = new Set(),
  held: ReadonlySet<string> = new Set(),
  notified: ReadonlySet<string> = new Set(),
): PullPlan {
  const wanted = new Map<string, ManifestEntry>();
  for (const [k, e] of remote) if (isWanted(k, opts)) wanted.set(k, e);
  const planned: RepoAction[] = [];
  const archivedNotFetched: string[] = [];
  for (const [k, e] of wanted) {
    const d = disk(k);
    const a = repoAction(k, e, local.get(k), d, opts, notified.has(k));
    if (a) planned.push(a);
    if (e.archived === true && d.exists && !d.reclone && d.fingerprint !== e.fingerprint) archivedNotFetched.push(k);
  }
  // Only entries worked on can clash anew: the others are as they were when last judged.
  const layout = layoutProblems(wanted, planned.map((a) => a.key));
  const refused = [...layout].map(([key, why]) => ({ key, why }));
  const actions = layout.size > 0 ? planned.filter((a) => !layout.has(a.key)) : planned;
  let purge: string[] = [];
  let purgeRefused: PullPlan['purgeRefused'] = null;
  if (opts.purge) {
    const have = new Set([...local.keys(), ...localRepos]);
    purge = [...have].filter((k) => !wanted.has(k) && !held.has(k) && !matchesAny(k, opts.nopurge) && !matchesAny(k, opts.ffonly) && !borrowedFrom.has(k)).sort();
    // Refuse a purge of purgeprotect percent or more of what we hold: a broken or truncated
    // remote manifest must not empty the mirror.
    if (purge.length > 0 && !opts.forcePurge && (purge.length * 100) / have.size >= opts.purgeprotect) {
      purgeRefused = { count: purge.length, total: have.size };
      purge = [];
    }
  }
  return { actions, refused, purge, purgeRefused, wanted, archivedNotFetched };
}
