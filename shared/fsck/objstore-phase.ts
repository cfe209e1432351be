/**
 * grok-fsck's objstore work, in an order that keeps every step safe on its own: members that left
 * are let go (taking their objects back first), stale refs trimmed, then the grouping plan
 * (group.ts) is carried out: merges, joins, new objstores; objstores nothing uses are removed.
 * Repositories busy with grok-pull are skipped this time (their lock is shared with it).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import { describeError } from '../errors.js';
import { removeStaleTempsIn } from '../fs/atomic.js';
import type { Git } from '../git/index.js';
import { matchesAny } from '../glob.js';
import { isLockBusy, lockPathFor, withLock } from '../lock.js';
import type { Logger } from '../log.js';
import { createObjstore, objstorePath } from '../objstore/objstore.js';
import { isBareRepo } from '../repo/bare.js';
import { groupForks, type RepoRoots, type StoreRoots } from './group.js';
import { bundlePath } from './bundle.js';
import { takeInventory, type Inventory, type Privacy, type StoreInfo } from './inventory.js';
import { cleanObjstoreDir, joinStore, leaveStore, mergeStore, removeStore, storeRemotes, syncMarker, takeBack, trimStaleVirtrefs } from './objstore-ops.js';
import { markPurge } from './purge-mark.js';
import { repoRoots } from './roots.js';
import { clearStaleGitLocks, isGitLockBusy } from '../repo/git-locks.js';

export interface ObjstorePhaseOptions {
  readonly toplevel: string;
  readonly objstoreDir: string;
  readonly privacy: Privacy;
  readonly baselines: readonly string[];
  readonly plumbing: boolean;
  /** Manifest forkgroups by repository key (replicas name their objstores after them). */
  readonly forkgroups: ReadonlyMap<string, string>;
  readonly random?: () => string;
  readonly now: () => number;
  /** `[fsck] preload_bundle_outdir` ('' : none): a bundle holding what must not be served goes at once. */
  readonly preloadBundleDir?: string;
  /** Why no repository may join an objstore this run (what is published cannot be told), or null. */
  readonly noJoins?: string | null;
  /** The toplevel is an origin's, served as it is (replicas repair their own borrowing elsewhere). */
  readonly origin?: boolean;
}

export interface ObjstorePhaseResult {
  readonly inventory: Inventory;
  /** Steps that failed (not merely busy: those wait for the next run, in `notes`). */
  readonly problems: readonly string[];
  /** Objstores that gained members or were merged into: they get a full repack. */
  readonly grown: ReadonlySet<string>;
  readonly notes: readonly string[];
}

export async function runObjstorePhase(git: Git, o: ObjstorePhaseOptions, log: Logger): Promise<ObjstorePhaseResult> {
  const notes: string[] = [];
  const note = (m: string) => {
    notes.push(m);
    log.info(m);
  };
  const problems: string[] = [];
  // One step of the work: busy (our lock or a fresh git lock) waits for the next run; a failure is
  // reported and the other steps go on.
  const step = async (what: string, fn: () => Promise<void>): Promise<boolean> => {
    try {
      await fn();
      return true;
    } catch (err) {
      if (isLockBusy(err) || isGitLockBusy(err)) note(`${what}: busy; next run (${describeError(err)})`);
      else {
        problems.push(`${what}: ${describeError(err)}`);
        log.error(`${what}: ${describeError(err)}`);
      }
      return false;
    }
  };
  const unlock = (...dirs: string[]) => {
    for (const d of dirs) for (const l of clearStaleGitLocks(d, o.now())) note(`removed ${l}, left by a git process that was killed`);
  };
  const removeBundle = async (name: string): Promise<boolean> =>
    o.preloadBundleDir ? fsp.rm(bundlePath(o.preloadBundleDir, name)).then(() => true, () => false) : false;
  const forgetObjectsOf = async (s: StoreInfo, member: string, why: string) => {
    await markPurge(s.path, member, o.now());
    if (await removeBundle(s.name)) note(`${s.name}: removed its preload bundle, which held objects of ${member} (${why})`);
  };
  for (const n of await cleanObjstoreDir(o.objstoreDir)) note(`removed leftover ${n} from an interrupted run`);
  let inv = await takeInventory(git, o.toplevel, o.objstoreDir, o.privacy);
  const byPath = new Map(inv.repos.map((r) => [r.path, r]));

  // 1. Members that left (gone, borrowing elsewhere, or private or unexported now), stale refs, marker files.
  for (const s of inv.stores) {
    await step(`objstore ${s.name}`, () =>
      withLock(lockPathFor(s.path), async () => {
        unlock(s.path);
        // A write of its marker or a member's fingerprint file that a kill cut short (all under this lock).
        for (const n of await removeStaleTempsIn(s.path)) note(`${s.name}: removed ${n}, left by a write that was cut short`);
        for (const [v, member] of s.remotes) {
          const info = byPath.get(member);
          const here = info?.store === s.name;
          if (info && here && !info.isPrivate && !info.optOut) continue;
          const exists = await isBareRepo(member);
          // An opted-out member that still borrows takes its objects back (under its own lock); a
          // private one keeps borrowing.
          const takeBack = Boolean(info && here && info.optOut);
          const leave = async () => {
            if (takeBack) unlock(member);
            await leaveStore(git, s.path, v, exists ? member : null, takeBack);
          };
          // What it brought must not stay readable by the served siblings: the objstore is marked for a
          // purge (run.ts) and its preload bundle goes, before its refs do.
          if (exists && info?.isPrivate) await forgetObjectsOf(s, member, info.privateWhy ?? 'private');
          const left = await step(`${s.name}: ${member} leaving`, () => (takeBack ? withLock(lockPathFor(member), leave, { timeoutMs: 0 }) : leave()));
          if (left) note(`${s.name}: ${member} left (${!exists ? 'gone' : info?.isPrivate ? `private now: ${info.privateWhy}` : info?.optOut ? 'opted out' : 'borrows elsewhere'})`);
        }
        const stale = await trimStaleVirtrefs(git, s.path, await storeRemotes(git, s.path));
        if (stale.length > 0) note(`${s.name}: trimmed refs of ${stale.length} unknown member(s)`);
      }),
    );
  }
  // On an origin, a served repository borrowing straight from one that may not give (outside any
  // objstore) takes its objects back: through its alternates, upload-pack would serve the lender's.
  for (const r of o.origin ? inv.repos : []) {
    if (r.isPrivate || r.borrowsFrom === null) continue;
    const lender = byPath.get(r.borrowsFrom);
    if (lender && !lender.isPrivate) continue;
    const why = lender ? lender.privateWhy : 'outside the toplevel';
    const done = await step(`${r.key}: taking back what it borrows from ${r.borrowsFrom}`, () =>
      withLock(lockPathFor(r.path), async () => {
        unlock(r.path);
        await takeBack(git, r.path);
      }, { timeoutMs: 0 }),
    );
    if (done) note(`${r.key} took back the objects it borrowed from ${r.borrowsFrom} (${why}: it may not give objects to a served repository)`);
  }
  inv = await takeInventory(git, o.toplevel, o.objstoreDir, o.privacy);

  // 2. The plan.
  const rootsOf = new Map<string, string[]>();
  for (const r of inv.repos) {
    try {
      rootsOf.set(r.path, await repoRoots(git, r.path));
    } catch (err) {
      note(`${r.key}: cannot read its root commits (${describeError(err)}); left out of grouping`);
    }
  }
  const repoRootsList: RepoRoots[] = inv.repos.map((r) => ({
    key: r.path,
    roots: rootsOf.get(r.path) ?? [],
    store: r.store,
    forkgroup: o.forkgroups.get(r.key) ?? null,
    // A shared object directory never joins: slimming it would drop what the others need.
    optOut: r.optOut || r.borrowsFrom !== null || inv.lenders.has(r.path) || r.sharedObjects !== null || !rootsOf.has(r.path),
    baseline: o.baselines.length > 0 && (matchesAny(r.key, o.baselines) || matchesAny(r.path, o.baselines)),
  }));
  const baselines = new Set(repoRootsList.filter((r) => r.baseline).map((r) => r.key));
  const fixed = new Set(o.forkgroups.values());
  const storeRoots: StoreRoots[] = inv.stores.map((s) => {
    const roots = new Set<string>();
    for (const u of s.users) for (const x of rootsOf.get(u) ?? []) roots.add(x);
    return {
      name: s.name,
      roots: [...roots].sort(),
      users: s.users.length,
      hasBaseline: s.users.some((u) => baselines.has(u)),
      fixedName: fixed.has(s.name),
    };
  });
  const planned = groupForks(repoRootsList, storeRoots);
  const plan = o.noJoins ? { ...planned, joins: [], newStores: [] } : planned;
  if (o.noJoins && planned.joins.length + planned.newStores.length > 0) note(`no repository joins an objstore this run: ${o.noJoins}`);
  const grown = new Set<string>();
  const storeByName = new Map(inv.stores.map((s) => [s.name, s]));

  // 3. Merges: everything of `from` is copied into `into` before any user is re-pointed.
  for (const m of plan.merges) {
    const from = storeByName.get(m.from)!;
    const into = storeByName.get(m.into)!;
    const merged = await step(`merging objstore ${m.from} into ${m.into}`, () =>
      withLock(lockPathFor(into.path), () =>
        withLock(lockPathFor(from.path), async () => {
          unlock(into.path, from.path);
          await mergeStore(git, from.path, into.path, from.users);
          await removeStore(from.path);
        }),
      ),
    );
    if (!merged) continue;
    grown.add(m.into);
    note(`merged objstore ${m.from} into ${m.into} (${from.users.length} users)`);
  }

  // 4. Joins and new objstores.
  const join = async (store: string, repoPath: string): Promise<boolean> => {
    const info = byPath.get(repoPath)!;
    try {
      await withLock(lockPathFor(repoPath), () =>
        withLock(lockPathFor(store), async () => {
          unlock(repoPath, store);
          await joinStore(git, store, repoPath, { isPrivate: info.isPrivate, plumbing: o.plumbing });
        }, { timeoutMs: 600_000 }),
      { timeoutMs: 0 });
      return true;
    } catch (err) {
      if (isLockBusy(err) || isGitLockBusy(err)) note(`${info.key}: busy (grok-pull?); joins its objstore next time`);
      else {
        problems.push(`${info.key}: could not join ${store}: ${describeError(err)}`);
        log.error(`${info.key}: could not join ${store}: ${describeError(err)}`);
      }
      return false;
    }
  };
  for (const j of plan.joins) {
    const s = storeByName.get(j.store) ?? { path: objstorePath(inv.objstoreDir, j.store) };
    if (await join(s.path, j.key)) {
      grown.add(j.store);
      note(`${byPath.get(j.key)!.key} joined objstore ${j.store}`);
    }
  }
  for (const n of plan.newStores) {
    const name = n.name ?? (o.random ?? randomUUID)();
    const p = objstorePath(inv.objstoreDir, name);
    // Public members first: a private one only borrows what they brought.
    const members = [...n.members].sort((a, b) => Number(byPath.get(a)!.isPrivate) - Number(byPath.get(b)!.isPrivate));
    if (members.every((m) => byPath.get(m)!.isPrivate)) continue; // nothing could be shared
    await createObjstore(git, p);
    let joined = 0;
    for (const m of members) if (await join(p, m)) joined++;
    grown.add(name);
    note(`new objstore ${name} with ${joined} of ${members.length} repositories`);
  }

  // 5. Objstores nothing borrows from any more.
  inv = await takeInventory(git, o.toplevel, o.objstoreDir, o.privacy);
  for (const s of inv.stores) {
    await step(`objstore ${s.name}`, () =>
      withLock(lockPathFor(s.path), async () => {
        await syncMarker(s.path, s.remotes);
        if (s.users.length === 0 && existsSync(s.path)) {
          unlock(s.path);
          for (const [v, member] of s.remotes) await leaveStore(git, s.path, v, (await isBareRepo(member)) ? member : null, false);
          await removeStore(s.path);
          await removeBundle(s.name);
          grown.delete(s.name);
          note(`removed objstore ${s.name}: nothing borrows from it`);
        }
      }),
    );
  }
  if (notes.length > 0) inv = await takeInventory(git, o.toplevel, o.objstoreDir, o.privacy);
  return { inventory: inv, problems, grown, notes };
}
