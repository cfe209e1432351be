/**
 * Carries out one planned action on one repository, under that repository's lock (shared with
 * grokmirror and grok-fsck): init (built aside, renamed into place), reclone (old copy moved aside
 * and removed only once the new one is in place), or update in place.
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { describeError } from '../../shared/errors.js';
import { matchesAny } from '../../shared/glob.js';
import { copyMemberIn, createObjstore, dropLooseCopies, joinStore, objstorePath, removeCreateLeftovers, underLocks } from '../../shared/objstore/index.js';
import type { ManifestEntry } from '../../shared/manifest/entry.js';
import { clearStaleGitLocks } from '../../shared/repo/git-locks.js';
import { isUnder, keyToPath } from '../../shared/manifest/keys.js';
import { readFingerprintFile } from '../../shared/repo/fingerprint-file.js';
import { removeKilledAlternatesWrites } from '../../shared/repo/alternates.js';
import { readAlternate } from '../../shared/repo/inspect.js';
import { takeInForeign } from '../../shared/repo/foreign-alternates.js';
import { partialMark } from '../../shared/repo/promisor.js';
import { objectBytes, objectBytesAdded, objectsSnapshot } from '../../shared/repo/object-bytes.js';
import { repackArchived } from './archive-repack.js';
import { catchUpObjstore, housekeep } from './housekeeping.js';
import { preloadObjstore } from './preload-bundle.js';
import type { RepoAction } from '../plan.js';
import {
  cloneMirror,
  fetchRemote,
  fixParams,
  fixRemotes,
  fixSymlinks,
  recordFingerprint,
  recordTimestamps,
  tempCloneDir,
  type MirrorStepsContext,
} from './mirror-steps.js';
import { discard } from './trash.js';
import { workPath } from '../../shared/repo/work-names.js';

export interface WorkContext extends MirrorStepsContext {
  readonly ffonly: readonly string[];
  readonly retries: number;
  readonly sleep: (ms: number) => Promise<void>;
  /** [core] objstore, and [core] private globs (private repos borrow but are never members). */
  readonly objstoreDir: string;
  readonly privateGlobs: readonly string[];
  /** A local, public repository of this forkgroup other than `key`, if any (to seed its objstore). */
  readonly siblingOf: (forkgroup: string, key: string) => string | null;
  /** [remote] preload_bundle_url: where a missing objstore may be preloaded from ('' or unset: nowhere). */
  readonly preloadBundleUrl?: string;
  /** Fingerprint mismatches already reported (a daemon reports each once, not every pass). */
  readonly warned?: Set<string>;
  /** [pull] archive_repack: repack a repository aggressively when it becomes archived. */
  readonly archiveRepack: boolean;
  /** [pull] partial globs and partial_filter (already checked): these are cloned as partial clones. */
  readonly partial: readonly string[];
  readonly partialFilter: string;
  /** What this replica owns (its toplevel and objstore directory, resolved): nothing may borrow from elsewhere. */
  readonly roots: readonly string[];
}

export interface WorkDone {
  /** The local manifest's new entry: the remote one with the fingerprint we actually hold. */
  readonly entry: ManifestEntry;
  /** What the repository held before the fetch (null: it was cloned now). */
  readonly fingerprintBefore: string | null;
  readonly pulled: boolean;
  readonly cloned: boolean;
  readonly notes: readonly string[];
  /** What the clone or fetch added to the repository's own object files (0 when nothing was fetched). */
  readonly bytes: number;
}

/**
 * Leftovers of a pass that died while working on this repository: a half-built clone is removed; an
 * old copy moved aside by a reclone that died before the new copy took its place is put back (it may
 * be the only copy we have), otherwise removed.
 */
async function recoverLeftovers(final: string): Promise<void> {
  const dir = path.dirname(final);
  const base = path.basename(final);
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    const p = path.join(dir, name);
    if (name.startsWith(`.${base}.grok-old-`) && !existsSync(final)) await fsp.rename(p, final);
    else if (name.startsWith(`.${base}.grok-`)) await fsp.rm(p, { recursive: true, force: true });
  }
}

/**
 * The objstore a new clone of a forkgroup should borrow from. When there is none yet but a public
 * sibling is already here, the sibling seeds a new one first (its objects copied in, then its
 * alternates pointed at it), so the new fork fetches only what it has of its own. With no sibling,
 * the origin's preload bundle may seed it instead (a local sibling is cheaper, so it goes first).
 */
async function objstoreFor(ctx: WorkContext, a: RepoAction, notes: string[]): Promise<string | null> {
  const fg = a.entry.forkgroup;
  if (!fg) return null;
  const obst = objstorePath(ctx.objstoreDir, fg);
  if (!existsSync(obst)) {
    // A pass killed while making it left a half-made one beside it, which would stay until grok-fsck
    // runs (weekly, perhaps). A pass that holds the lock is making it now and cleans up after itself.
    const cleaned = await underLocks({ stores: [obst] }, () => removeCreateLeftovers(obst));
    if (cleaned.status === 'failed') throw cleaned.error;
    const sibling = ctx.siblingOf(fg, a.key);
    if (!sibling) {
      const t = ctx.transfer;
      const limits = t ? { rate: t.rate, timeoutMs: t.preloadTimeoutMs, maxBytes: t.preloadMaxBytes } : {};
      const r = ctx.preloadBundleUrl ? await preloadObjstore(ctx.git, obst, fg, ctx.preloadBundleUrl, limits) : null;
      if (r?.status === 'failed') notes.push(`its objstore could not be preloaded (${r.reason})`);
      return existsSync(obst) ? obst : null;
    }
    // The sibling joins a new objstore (objects in first, then its alternates, then it is slimmed).
    const r = await underLocks({ repos: [sibling], stores: [obst] }, async () => {
      await createObjstore(ctx.git, obst);
      await joinStore(ctx.git, obst, sibling, { isPrivate: false, plumbing: false });
    });
    if (r.status === 'failed') throw r.error;
    if (r.status === 'busy') return existsSync(obst) ? obst : null; // busy elsewhere: clone without it this time
  }
  return existsSync(obst) ? obst : null;
}

/** A complete copy in a temporary directory beside `final`; the caller renames it into place. */
async function buildAside(ctx: WorkContext, a: RepoAction, final: string, objstore: string | null, filter: string | null, notes: string[]): Promise<{ tmp: string; fp: string; bytes: number }> {
  const tmp = tempCloneDir(final);
  try {
    for (let i = 1; ; i++) {
      try {
        await cloneMirror(ctx, tmp, a.key, a.entry, { ffonly: matchesAny(a.key, ctx.ffonly), reference: objstore, filter });
        break;
      } catch (err) {
        await fsp.rm(tmp, { recursive: true, force: true });
        if (i >= ctx.retries) throw err;
        await ctx.sleep(1000 * 2 ** (i - 1));
      }
    }
    const bytes = objectBytes(tmp);
    const fp = await recordFingerprint(ctx, tmp);
    notes.push(...recordTimestamps(tmp, a.entry));
    return { tmp, fp, bytes };
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The filter of a new clone: the upstream's when its entry says it holds a partial clone (its
 * upload-pack cannot hand out what it lacks; `true` leaves the filter to us), else ours when the key
 * matches `[pull] partial`, else none.
 */
function cloneFilter(ctx: WorkContext, a: RepoAction, notes: string[]): string | null {
  const upstream = a.entry.partial;
  if (upstream === undefined) return matchesAny(a.key, ctx.partial) ? ctx.partialFilter : null;
  const filter = typeof upstream === 'string' ? upstream : ctx.partialFilter;
  notes.push(`a partial clone upstream: cloned partial too (${filter})`);
  return filter;
}

/** The local manifest's entry: the remote one with what this replica holds (fingerprint, partial mark). */
function localEntry(entry: ManifestEntry, fp: string, dir: string): ManifestEntry {
  const { partial: _upstream, ...rest } = entry;
  const mark = partialMark(dir);
  return { ...rest, fingerprint: fp, ...(mark !== null ? { partial: mark } : {}) };
}

/** [pull] archive_repack, once, when the repository is first seen archived; a failure is a note, not a failed repo. */
async function archiveRepack(ctx: WorkContext, repo: string): Promise<string[]> {
  if (!ctx.archiveRepack) return [];
  try {
    const r = await repackArchived(ctx.git, repo);
    return r.note ? [r.note] : [];
  } catch (err) {
    return [`archive repack failed: ${describeError(err)}`];
  }
}

export async function applyAction(ctx: WorkContext, a: RepoAction): Promise<WorkDone> {
  const final = keyToPath(ctx.toplevel, a.key);
  const notes: string[] = [];
  if (a.op === 'init' || a.op === 'reclone') {
    await recoverLeftovers(final);
    if (a.op === 'init' && existsSync(path.join(final, 'HEAD'))) {
      // An old copy was just put back: this is an update now, not a clone.
      return applyAction(ctx, { ...a, op: 'update', fixRemotes: true, fixParams: true, pull: true });
    }
    // A partial clone stands alone: it neither borrows from nor joins an objstore (promisor.ts).
    const filter = cloneFilter(ctx, a, notes);
    // A reclone keeps borrowing from what the old copy borrowed from (its alternates line), when that
    // is this replica's own.
    const previous = a.op === 'reclone' && !filter ? await readAlternate(final) : null;
    const keepLender = previous && !previous.objstoreMembers && existsSync(previous.repo) && ctx.roots.some((r) => isUnder(r, previous.repo));
    const objstore = filter ? null : ((await objstoreFor(ctx, a, notes)) ?? (keepLender ? previous.repo : null));
    const { tmp, fp, bytes } = await buildAside(ctx, a, final, objstore, filter, notes);
    if (a.op === 'reclone') {
      const old = workPath(final, 'old');
      await fsp.rename(final, old);
      await fsp.rename(tmp, final);
      await discard(ctx.toplevel, old);
    } else {
      await fsp.rename(tmp, final);
    }
    notes.push(...(await fixSymlinks(ctx, final, a.entry)));
    if (objstore && !matchesAny(a.key, ctx.privateGlobs)) {
      // A public member joins the objstore now, so the next sibling finds its objects there; what
      // the clone fetched loose and the objstore now holds goes from the clone. The objstore's lock is
      // inner (we hold the repository's): waited for a bounded time, for a sibling being fed.
      const r = await underLocks({ stores: [objstore] }, async () => {
        await copyMemberIn(ctx.git, objstore, final, false);
        await dropLooseCopies(ctx.git, final);
      }, { outerMs: 60_000 });
      if (r.status !== 'done') notes.push(`not added to its objstore yet (${describeError(r.error)}); grok-fsck will`);
    }
    if (a.newlyArchived) notes.push(...(await archiveRepack(ctx, final)));
    return { entry: localEntry(a.entry, fp, final), fingerprintBefore: null, pulled: true, cloned: true, notes, bytes };
  }
  // Lock files of a git that was killed with a previous pass would make every git here fail.
  for (const l of clearStaleGitLocks(final, Date.now())) notes.push(`removed ${path.relative(final, l)}, left by a git process that was killed`);
  // Ours too: a pass killed while joining this repository to a new objstore (as the sibling that seeds it) left the temp file of its alternates.
  for (const n of await removeKilledAlternatesWrites(final)) notes.push(`removed objects/info/${n}, left by a write that was cut short`);
  try {
    const dropped = await takeInForeign(ctx.git, final, ctx.roots);
    if (dropped.length > 0) notes.push(`took in the objects it borrowed from ${dropped.join(', ')} (outside this replica) and stopped borrowing`);
  } catch (err) {
    // What it borrowed is gone already: a fresh copy (the old one stays until the new one is in place).
    const again = await applyAction(ctx, { ...a, op: 'reclone', fixRemotes: true, fixParams: true, pull: true });
    return { ...again, notes: [`${describeError(err)}; recloned`, ...notes, ...again.notes] };
  }
  if (a.fixRemotes) await fixRemotes(ctx, final, a.key, matchesAny(a.key, ctx.ffonly));
  if (a.fixParams) {
    await fixParams(ctx, final, a.entry);
    notes.push(...(await fixSymlinks(ctx, final, a.entry)));
  }
  const before = readFingerprintFile(final);
  let fp = before ?? a.entry.fingerprint;
  let bytes = 0;
  if (a.pull) {
    const objectsBefore = objectsSnapshot(final);
    await fetchRemote(ctx, final, matchesAny(a.key, ctx.ffonly), ctx.retries, ctx.sleep);
    // Measured before housekeeping, whose repack could shrink what the fetch added.
    bytes = objectBytesAdded(final, objectsBefore);
    fp = await recordFingerprint(ctx, final);
    notes.push(...recordTimestamps(final, a.entry));
    if (fp !== before) notes.push(...(await housekeep(ctx.git, final)).notes);
    else if (!matchesAny(a.key, ctx.privateGlobs)) notes.push(...(await catchUpObjstore(ctx.git, final, fp)));
  }
  if (a.newlyArchived) notes.push(...(await archiveRepack(ctx, final)));
  return { entry: localEntry(a.entry, fp, final), fingerprintBefore: before, pulled: a.pull, cloned: false, notes, bytes };
}
