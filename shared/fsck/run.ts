/**
 * One grok-fsck pass (docs/architecture.md "grok-fsck"): under a single-instance lock beside the status file, the
 * objstore work (objstore-phase.ts), then each objstore and repository repacked when worth it and
 * checked when its day has come (maintain.ts), the status file saved after each, members' manifest
 * entries brought in line (origins), preload bundles written after full repacks of objstores, and
 * critical findings logged and mailed.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { GrokConfig } from '../config/config.js';
import { describeError } from '../errors.js';
import { removeStaleTemps } from '../fs/atomic.js';
import type { Git } from '../git/index.js';
import { matchesAny } from '../glob.js';
import { type HeldLock, acquireLock, isLockBusy, lockPathFor, removeOrphanLocks, withLock } from '../lock.js';
import type { Logger } from '../log.js';
import { EMPTY_FINGERPRINT } from '../manifest/entry.js';
import { readManifestFile } from '../manifest/io.js';
import { removeKilledManifestWrites } from '../manifest/killed-writes.js';
import { pathToKey } from '../manifest/keys.js';
import { virtrefFor } from '../objstore/virtref.js';
import { repairForeignAlternates, warnSharedObjects } from './borrowing.js';
import { writePreloadBundle } from './bundle.js';
import type { Inventory, StoreInfo } from './inventory.js';
import { maintain, type MaintainTarget } from './maintain.js';
import { saveMemberships, type Membership } from './manifest-members.js';
import { currentFingerprint, dropPreloadRefs, makeSelfSufficient, refreshMember, type RepoFailure } from '../objstore/index.js';
import { runObjstorePhase } from './objstore-phase.js';
import { clearPurge, purgePending } from './purge-mark.js';
import { publishedKeys } from './published.js';
import { checkDue, isoDay, readStatusFile, writeStatusFile, type StatusFile } from './status.js';
import { reportMailer } from './report.js';
import type { RepackLevel } from '../repo/repack-level.js';
import type { Progress } from '../progress.js';
import { isGitLockBusy } from '../repo/git-locks.js';

export interface FsckRunOptions {
  /** -f: check every repository now, whatever the schedule says. */
  readonly force: boolean;
  /** --repack-only: repack (and objstore work), no git fsck. */
  readonly repackOnly: boolean;
  /** --connectivity-only: git fsck --connectivity-only for everything. */
  readonly connectivityOnly: boolean;
  /** --repack-all-quick / --repack-all-full (each implies force). */
  readonly repackAll: 'quick' | 'full' | null;
}

export interface FsckDeps {
  readonly git: Git;
  readonly log: Logger;
  readonly now: () => number;
  /** [0, 1): spreads new repos' first checks over the frequency window. */
  readonly random?: () => number;
  /** Sends the report of critical findings (shared/fsck/report.ts by default). */
  readonly mail?: (subject: string, body: string) => Promise<void>;
  /** Names new objstores (origins): a UUID by default. */
  readonly newName?: () => string;
  /** A progress display over the repositories and objstores (the CLI's, on a terminal). */
  readonly progress?: (total: number) => Progress;
}

export interface FsckResult {
  /** 'busy': another grok-fsck holds the lock; nothing was done. */
  readonly status: 'done' | 'busy';
  readonly checked: readonly string[];
  readonly repacked: readonly string[];
  /** Repositories whose git fsck reported errors not on the ignore list. */
  readonly errors: readonly { readonly repo: string; readonly lines: readonly string[] }[];
  /** What the objstore work did, one line each. */
  readonly objstoreNotes?: readonly string[];
}

export function isReplica(config: GrokConfig): boolean {
  return Boolean(config.remote.site || config.remote.manifest || config.remote.manifest_command);
}

interface Work {
  readonly target: MaintainTarget;
  readonly key: string;
  readonly forceFull: boolean;
  readonly store?: StoreInfo;
}

function workList(inv: Inventory, grown: ReadonlySet<string>, replica: boolean): Work[] {
  const list: Work[] = [];
  for (const s of inv.stores) {
    // Prune-safe: users that are not members are made self-sufficient before the repack (storeWork).
    list.push({ target: { path: s.path, role: 'objstore', pruneSafe: true, mayReclone: false }, key: s.path, forceFull: grown.has(s.name), store: s });
  }
  for (const r of inv.repos) {
    const lender = inv.lenders.has(r.path);
    // A shared object directory keeps everything (-k, no prune): another repository's refs may need
    // what this one's no longer reach. A borrowing one stays a member (-l -A), without pruning.
    const shared = r.sharedObjects !== null;
    const borrows = r.store !== null || r.borrowsFrom !== null;
    const role = lender || (shared && !borrows) ? 'alternate' : borrows ? 'member' : 'standalone';
    const keep = lender || shared;
    list.push({ target: { path: r.path, role, pruneSafe: !keep, mayReclone: replica && !keep }, key: r.key, forceFull: false });
  }
  return list;
}

/** Objstore settings that follow [fsck] baselines and islandcores. */
async function applyStoreSettings(git: Git, s: StoreInfo, inv: Inventory, config: GrokConfig): Promise<boolean> {
  const keyOf = (p: string) => inv.keyOf.get(p) ?? p;
  const pick = (globs: readonly string[]) => [...s.remotes.values()].filter((m) => globs.length > 0 && (matchesAny(keyOf(m), globs) || matchesAny(m, globs)));
  const baselines = pick(config.fsck.baselines).map((m) => `refs/virtual/${virtrefFor(m)}/heads/`);
  for (const u of s.users) {
    if (baselines.length > 0) await git.run({ gitDir: u, args: ['config', 'core.alternateRefsPrefixes', baselines.join(' ')] });
    else await git.run({ gitDir: u, args: ['config', '--unset-all', 'core.alternateRefsPrefixes'], okExit: [5] });
  }
  const core = pick(config.fsck.islandcores)[0];
  const had = await git.run({ gitDir: s.path, args: ['config', '--get', 'pack.islandCore'], okExit: [1] });
  const was = had.exitCode === 0 ? had.stdout.toString('utf8').trim() : null;
  const want = core ? virtrefFor(core) : null;
  if (was === want) return false;
  if (want) await git.run({ gitDir: s.path, args: ['config', 'pack.islandCore', want] });
  else await git.run({ gitDir: s.path, args: ['config', '--unset-all', 'pack.islandCore'], okExit: [5] });
  return true; // a changed island core only takes effect with a full repack
}

/**
 * An objstore's users that are not its members (private, or not joined yet) are locked for the whole
 * of its maintenance and made self-sufficient first, so pruning may go ahead; when one of them is
 * busy (grok-pull), this run keeps unreachable objects (-k) instead.
 */
async function storeWork<T>(store: StoreInfo, target: MaintainTarget, work: (t: MaintainTarget, outsiders: readonly string[]) => Promise<T>): Promise<T> {
  const members = new Set(store.remotes.values());
  const outsiders = store.users.filter((u) => !members.has(u));
  const held: HeldLock[] = [];
  try {
    for (const u of outsiders) held.push(await acquireLock(lockPathFor(u), { timeoutMs: 0 }));
    return await work(target, outsiders);
  } catch (err) {
    if (!isLockBusy(err) || held.length === outsiders.length) throw err;
    for (const h of held.splice(0)) await h.release();
    return work({ ...target, pruneSafe: false }, []);
  } finally {
    for (const h of held) await h.release();
  }
}

/** What was done to one repository or objstore, for its line in the log (and on stderr with -v). */
function doneLine(d: { readonly repacked: RepackLevel; readonly checked: boolean; readonly errors: readonly string[] }): string {
  const parts = [d.repacked !== 'none' ? `repacked (${d.repacked})` : 'not repacked', d.checked ? `checked${d.errors.length > 0 ? `, ${d.errors.length} problems` : ', ok'}` : 'check not due'];
  return parts.join(', ');
}

function failureLine(f: RepoFailure): string {
  return `${f.repo}: ${describeError(f.error)}`;
}

async function storeFingerprint(git: Git, store: string): Promise<string | null> {
  const fp = await currentFingerprint(git, store);
  return fp === EMPTY_FINGERPRINT ? null : fp;
}

async function manifestForkgroups(config: GrokConfig, replica: boolean): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  if (!replica) return m;
  const parsed = await readManifestFile(config.core.manifest, config.core.manifest_max_size).catch(() => null);
  for (const [k, e] of parsed?.entries ?? []) if (e.forkgroup) m.set(k, e.forkgroup);
  return m;
}

export async function runFsck(config: GrokConfig, opts: FsckRunOptions, deps: FsckDeps): Promise<FsckResult> {
  const { log } = deps;
  const statusFile = config.fsck.statusfile;
  await fsp.mkdir(path.dirname(statusFile), { recursive: true });
  try {
    return await withLock(lockPathFor(statusFile), () => fsckPass(config, opts, deps), { timeoutMs: 0 });
  } catch (err) {
    if (isLockBusy(err)) {
      log.info('another grok-fsck is running; nothing to do');
      return { status: 'busy', checked: [], repacked: [], errors: [], objstoreNotes: [] };
    }
    throw err;
  }
}

async function fsckPass(config: GrokConfig, opts: FsckRunOptions, deps: FsckDeps): Promise<FsckResult> {
  const { git, log } = deps;
  const random = deps.random ?? Math.random;
  const replica = isReplica(config);
  const toplevel = await fsp.realpath(config.core.toplevel);
  const force = opts.force || opts.repackAll !== null;
  // The status file is saved after every repository; a run killed in one of those writes left its
  // temp file. Only grok-fsck writes it, and this run holds its lock. The manifest (its forkgroups)
  // is written at the end of a run; its own lock says whether its leftovers may go.
  for (const n of await removeStaleTemps(config.fsck.statusfile)) log.warn(`removed ${n}, left by a status file write that was cut short`);
  for (const n of await removeKilledManifestWrites(config.core.manifest)) log.warn(`removed ${n}, left by a manifest write that was cut short`);
  const published = replica ? null : await publishedKeys(config);
  if (published && 'unknown' in published) log.warn(`cannot tell which repositories this origin publishes: ${published.unknown}; no repository joins an objstore this run`);
  // Before the objstore work: a repository borrowing from outside must hold its objects first.
  const repairs = await repairForeignAlternates(git, toplevel, config.core.objstore, replica, log);
  const phase = await runObjstorePhase(git, {
    toplevel,
    objstoreDir: config.core.objstore,
    // A replica's repositories carry no git-daemon-export-ok files: check_export_ok, like what the
    // manifest lists or leaves out, is the origin's.
    privacy: {
      globs: config.core.private,
      exportedOnly: config.manifest.check_export_ok && !replica,
      ...(replica ? {} : { ignore: config.manifest.ignore }),
      published: published && 'keys' in published ? published.keys : null,
    },
    noJoins: published && 'unknown' in published ? published.unknown : null,
    origin: !replica,
    preloadBundleDir: config.fsck.preload_bundle_outdir,
    baselines: config.fsck.baselines,
    plumbing: config.core.objstore_uses_plumbing,
    forkgroups: await manifestForkgroups(config, replica),
    ...(deps.newName ? { random: deps.newName } : {}),
    now: deps.now,
  }, log);
  const inv = phase.inventory;
  // `.<repo>.lock` files of repositories that were deleted (on an origin, by hand) stay otherwise.
  const orphans = await removeOrphanLocks(inv.orphanLocks);
  if (orphans.length > 0) log.info(`removed ${orphans.length} lock files of repositories that are gone: ${orphans.map((f) => path.basename(f)).join(', ')}`);
  warnSharedObjects(inv, log);

  const status: StatusFile = readStatusFile(config.fsck.statusfile);
  const today = isoDay(deps.now());
  const checked: string[] = [];
  const repacked: string[] = [];
  const errors: { repo: string; lines: string[] }[] = [];
  const failures: RepoFailure[] = [...repairs, ...phase.problems];
  const list = workList(inv, phase.grown, replica);
  const progress = deps.progress?.(list.length);
  for (const w of list) {
    progress?.tick(0);
    const t0 = deps.now();
    const prev = status[w.target.path];
    try {
      const fp = w.store ? null : await currentFingerprint(git, w.target.path);
      const sched = checkDue(prev, today, config.fsck.frequency, force, random);
      const changed = !prev || (fp !== null && prev.fingerprint !== fp);
      const check = sched.due && !opts.repackOnly;
      // Objects of a repository that may not give any are still in this objstore (purge-mark.ts).
      const purge = w.store ? purgePending(w.target.path) : null;
      const work = async (target: MaintainTarget, outsiders: readonly string[]) =>
        withLock(lockPathFor(target.path), async () => {
          let forceFull = w.forceFull;
          if (w.store) {
            forceFull = (await applyStoreSettings(git, w.store, inv, config)) || forceFull;
            // Every member's current refs are in the objstore before it repacks: what a member points at
            // must be reachable from the objstore's own refs before anything unreachable may go.
            for (const member of w.store.remotes.values()) await refreshMember(git, target.path, member);
            for (const u of outsiders) {
              const n = await makeSelfSufficient(git, u);
              if (n > 0) log.info(`${u}: took ${n} objects the objstore's refs do not keep`);
            }
            if (target.pruneSafe && (await dropPreloadRefs(git, target.path, w.store.remotes))) log.info(`${w.store.name}: preload refs dropped`);
          }
          const level: Exclude<RepackLevel, 'none'> | 'auto' | null =
            opts.repackAll ?? (forceFull ? 'full' : config.fsck.repack && (changed || sched.due || w.store) ? 'auto' : null);
          const purging = purge !== null && target.pruneSafe;
          if (purge !== null && !purging) log.warn({ repo: w.key }, `${w.target.path}: objects of ${purge.join(', ')} are still in it; a user of it is busy, so they are purged next run`);
          return { purging, ...(await maintain(git, target, { repack: level, check, connectivityOnly: opts.connectivityOnly, purge: purging }, config.fsck, deps.now())) };
        }, { timeoutMs: 600_000 });
      const done = w.store ? await storeWork(w.store, w.target, work) : await work(w.target, []);
      if (done.purging && done.repacked !== 'none') {
        await clearPurge(w.target.path);
        log.warn({ repo: w.key }, `${w.target.path}: purged the objects of ${purge!.join(', ')}, which may not be served`);
      }
      for (const l of done.staleLocks) log.warn({ repo: w.key }, `removed ${l}, left by a git process that was killed`);
      for (const n of done.staleTemps) log.warn({ repo: w.key }, `${w.target.path}: removed ${n}, left by a write that was cut short`);
      if (done.preciousRestored) log.warn({ repo: w.key }, `${w.target.path}: extensions.preciousObjects was off (a run killed during its repack?); set again`);
      if (done.repacked !== 'none') repacked.push(w.key);
      if (done.checked) checked.push(w.key);
      log.info({ repo: w.key, action: 'fsck' }, `${w.target.path}: ${doneLine(done)}`);
      if (done.errors.length > 0) {
        errors.push({ repo: w.target.path, lines: [...done.errors] });
        log.error({ repo: w.key, action: 'fsck' }, `${w.target.path}: git fsck found problems:\n${done.errors.join('\n')}${done.reclone ? '\n(marked for reclone)' : ''}`);
      }
      // After a full repack, and after a purge (its bundle went when the purge was marked).
      if (w.store && (done.repacked === 'full' || (done.purging && done.repacked !== 'none')) && config.fsck.preload_bundle_outdir) {
        await fsp.mkdir(config.fsck.preload_bundle_outdir, { recursive: true });
        const b = await writePreloadBundle(git, w.target.path, w.store.name, config.fsck.preload_bundle_outdir);
        log.info(b.status === 'written' ? `wrote preload bundle ${b.path}` : `${w.store.name}: no refs, no preload bundle`);
      }
      const base = sched.first ?? prev ?? { lastcheck: 'never', nextcheck: today };
      status[w.target.path] = {
        ...base,
        ...(done.checked ? { lastcheck: today, nextcheck: isoDay(deps.now() + config.fsck.frequency * 86_400_000) } : {}),
        // An objstore's too, as grokmirror records it: its own refs' show-ref digest (null with no refs).
        fingerprint: w.store ? await storeFingerprint(git, w.target.path) : fp,
        ...(done.repacked !== 'none' ? { lastrepack: today } : {}),
        ...(done.repacked === 'full' ? { lastfullrepack: today } : {}),
        s_elapsed: Math.round((deps.now() - t0) / 1000),
      };
      await writeStatusFile(config.fsck.statusfile, status);
    } catch (err) {
      if (isGitLockBusy(err)) {
        // A live git elsewhere, or the fresh leftover of one just killed: next run.
        log.warn({ repo: w.key }, `${w.target.path}: left for the next run: ${describeError(err)}`);
      } else {
        failures.push({ repo: w.target.path, error: err });
        log.error({ repo: w.key, action: 'fsck' }, `${w.target.path}: ${describeError(err)}`);
      }
    }
    progress?.tick();
  }
  progress?.end();

  if (!replica) {
    const memberships = new Map<string, Membership>();
    for (const s of inv.stores) {
      const keys = s.users.map((u) => pathToKey(toplevel, u));
      const members = [...s.remotes.values()].filter((m) => s.users.includes(m)).map((m) => pathToKey(toplevel, m)).sort();
      for (const k of keys) memberships.set(k, { forkgroup: s.name, members: members.length > 0 ? members : [...keys].sort() });
    }
    try {
      const n = await saveMemberships(config.core.manifest, config.core.manifest_max_size, config.manifest.pretty, memberships);
      if (n > 0) log.info(`updated forkgroup/reference of ${n} manifest entries`);
    } catch (err) {
      failures.push({ repo: config.core.manifest, error: err });
    }
  }

  if (errors.length > 0 || failures.length > 0) {
    const body = [
      ...errors.map((e) => `${e.repo}:\n${e.lines.map((l) => `  ${l}`).join('\n')}`),
      ...failures.map((f) => `failed: ${failureLine(f)}`),
    ].join('\n\n');
    if (config.fsck.report_to.trim()) {
      const mail = deps.mail ?? reportMailer(config);
      await mail(`grok-fsck found problems on ${os.hostname()}`, `${body}\n`).catch((err: unknown) => log.error(describeError(err)));
    }
  }
  log.info(`${checked.length} checked, ${repacked.length} repacked, ${errors.length} with errors, ${failures.length} failed`);
  return { status: 'done', checked, repacked, errors: [...errors, ...failures.map((f) => ({ repo: f.repo, lines: [failureLine(f)] }))], objstoreNotes: phase.notes };
}
