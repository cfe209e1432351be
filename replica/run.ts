/**
 * One grok-pull pass: fetch the remote manifest (conditionally), check it, look at the disk, plan
 * (plan.ts), do the work with a pool of `pull_threads` under per-repo locks, purge what left (unless
 * purgeprotect objects), keep the local manifest and projects.list, run the hooks, and only then
 * record the fetch, so that a pass that died or failed is redone next time. Observers follow it
 * through `events` (events.ts).
 */
import { promises as fsp } from 'node:fs';
import type { GrokConfig } from '../shared/config/config.js';
import { describeError, GrokError } from '../shared/errors.js';
import type { Git } from '../shared/git/index.js';
import { lockPathFor, removeLockIfGone, removeOrphanLocks, withLock } from '../shared/lock.js';
import type { Logger } from '../shared/log.js';
import type { ManifestEntry } from '../shared/manifest/entry.js';
import { keyToPath, pathToKey } from '../shared/manifest/keys.js';
import { matchesAny } from '../shared/glob.js';
import { mapPool } from '../shared/pool.js';
import { discoverRepos, type FoundRepo } from '../shared/repo/discover.js';
import { readAlternate } from '../shared/repo/inspect.js';
import { diskState, quickDiskState } from './execute/disk-state.js';
import { objstoresHeld } from './execute/forkgroups.js';
import { chainEntries, mapLegacyReferences, referencedRoots } from './legacy-reference.js';

import { localKeyProblem, REFUSED } from './execute/local-paths.js';
import { removeLink, removeRepo } from './execute/mirror-steps.js';
import { isLocalSite, pullOptions } from './execute/context.js';
import { guardEvents, type PullEvents } from './events.js';
import { diskLook, isWanted, recordedDisk, type DiskRepo, type PullPlan, type Refusal } from './plan.js';
import { executePass, finishPass, observePass, openPass, planPass, removeKilledLocalWrites, type Events, type PassState } from './pass.js';
import type { HttpSourceDeps } from './source/http-source.js';
import { fetchRemoteManifest, readRemoteEntries, readRemoteState, remoteStateAfter, remoteStatePath, writeRemoteState, type RemoteManifest } from './source/remote-manifest.js';
import type { Validators } from './source/types.js';
import { readManifestSubsetSync } from '../shared/manifest/sliced-read.js';

export interface PullRunOptions {
  /** -n: fetch the manifest even if unchanged. */
  readonly force: boolean;
  /** -p: purge even if [pull] purge is off. */
  readonly purge: boolean;
  readonly forcePurge: boolean;
}

export interface PullDeps {
  readonly git: Git;
  readonly log: Logger;
  readonly now: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly http?: HttpSourceDeps;
  /** Kept across a daemon's passes: fingerprint mismatches already reported. */
  readonly warned?: Set<string>;
  /** Progress for observers (the daemon's status page, a progress line). */
  readonly events?: PullEvents;
}

export interface PullResult {
  readonly status: 'unchanged' | 'done';
  readonly cloned: string[];
  readonly updated: string[];
  /** Settings-only work: description, owner, HEAD, symlinks, remote or archived flag put right, nothing fetched. */
  readonly fixed: string[];
  readonly purged: string[];
  readonly deferred: string[];
  readonly failed: { key: string; error: string }[];
  readonly purgeRefused: { count: number; total: number } | null;
  /** Archived repositories whose origin moved on; left as they are (no fetch). */
  readonly archivedNotFetched: string[];
}

async function borrowedFrom(toplevel: string, found: readonly FoundRepo[]): Promise<Set<string>> {
  // A repository whose objects/ others link to holds their objects too.
  const used = new Set<string>(found.filter((r) => r.sharedObjects !== undefined && !r.objectsLinked).map((r) => r.key));
  for (const k of found.map((r) => r.key)) {
    const alt = await readAlternate(keyToPath(toplevel, k)).catch(() => null);
    if (alt && !alt.objstoreMembers) {
      try {
        used.add(pathToKey(toplevel, alt.repo));
      } catch {
        // borrowing from outside the toplevel: nothing of ours to protect
      }
    }
  }
  return used;
}

export async function runPull(config: GrokConfig, opts: PullRunOptions, deps: PullDeps): Promise<PullResult> {
  const events = guardEvents(deps.events, deps.log);
  return observePass('full', events, async () => {
    const { res, held } = await pass(config, opts, deps, events);
    return { res, status: res.status, held };
  });
}

/** What a pass decided before doing anything: its plan, and what it needs to carry it out. */
interface Prepared {
  /** Where the manifest came from and its validators, recorded when the pass completes. */
  readonly source: string;
  readonly validators: Validators;
  readonly st: PassState;
  readonly plan: PullPlan;
  readonly actions: PullPlan['actions'];
  readonly refused: Refusal[];
  readonly walk: Awaited<ReturnType<typeof discoverRepos>> | null;
}

/**
 * Steps up to the plan: fetch the remote manifest, check it, look at the disk, plan. `readOnly` (a
 * dry run) writes nothing: no toplevel made, no leftovers removed. Null when the manifest is unchanged.
 */
async function prepare(config: GrokConfig, opts: PullRunOptions, deps: PullDeps, events: Events, readOnly: boolean): Promise<Prepared | null> {
  const { git, log } = deps;
  if (!readOnly) await fsp.mkdir(config.core.toplevel, { recursive: true });
  const localFile = config.core.manifest;
  const state = readRemoteState(remoteStatePath(localFile));
  let remote: RemoteManifest | undefined;
  try {
    remote = await fetchRemoteManifest(
      config.remote,
      { state, force: opts.force, configLastModified: config.lastModified, maxBytes: config.core.manifest_max_size },
      { log, ...(deps.http ? { http: deps.http } : {}) },
    );
  } catch (err) {
    events.onManifestChecked({ status: 'failed', error: describeError(err) });
    throw err;
  }
  events.onManifestChecked(remote.status === 'fetched' ? { status: 'fetched', bytes: remote.downloaded } : { status: remote.status });
  if (remote.status === 'unchanged') {
    log.info('remote manifest unchanged');
    if (!readOnly) await removeKilledLocalWrites(config, log);
    return null;
  }
  // Only the bytes are kept (parsed entry by entry below), so that no second copy of the manifest lives.
  const { json, source, validators } = remote;
  remote = undefined;
  const st = await openPass(config, deps, readOnly);
  const { toplevel, local, ctx } = st;
  const purging = opts.purge || config.pull.purge;
  const walk = purging ? await discoverRepos(toplevel).catch((err: unknown) => (readOnly && (err as NodeJS.ErrnoException).code === 'ENOENT' ? null : Promise.reject(err))) : null;
  const found: FoundRepo[] = walk ? walk.repos : [];
  const localRepos = found.map((r) => r.key);
  const pullOpts = pullOptions(config, { purge: purging, forcePurge: opts.forcePurge });
  // Built: the entries we want, and those of what we hold (a refused one is held back, never purged).
  const onDisk = new Set(localRepos);
  const parsed = await readRemoteEntries(json, source, (k) => isWanted(k, pullOpts) || local.has(k) || onDisk.has(k), log);
  if (parsed.total === 0 && local.size > 0 && !opts.forcePurge) {
    throw new GrokError('GROK_ERR_MANIFEST_SHAPE', `${source}: the remote manifest is empty while we hold ${local.size} repositories; refusing it (use --force-purge if this is right)`);
  }
  // grokmirror 1.x entries (a reference, no forkgroup) join a forkgroup, as grokmirror maps them
  const chains = chainEntries(parsed.entries, local, (keys) => readManifestSubsetSync(json, source, (k) => keys.has(k)).entries);
  const withChains = chains.size > 0 ? new Map([...parsed.entries, ...chains]) : parsed.entries;
  const remoteEntries = mapLegacyReferences(withChains, local, await objstoresHeld(config, toplevel, referencedRoots(withChains, local)));
  const mapped = remoteEntries === withChains ? 0 : [...parsed.entries].filter(([k, e]) => e.forkgroup !== remoteEntries.get(k)!.forkgroup).length;
  if (mapped > 0) log.info(`${mapped} entries with a reference and no forkgroup (grokmirror 1.x style) put into forkgroups, as grokmirror does`);
  // Only wanted entries are looked at on disk, and of those only what the manifest changed unless the
  // pass rechecks (-n, recheck_cron): plan.ts diskLook. The quick look is one synchronous sweep; the
  // full one, git's view, runs 8 at a time. `partial` is this replica's own fact, not the origin's; a
  // partial clone not marked yet (made before marks existed) gets the full look, which marks it. Only
  // a replica fed from a local path can have inherited alternates from the origin (a hazard: the
  // origin's repack would take objects it needs): there every pass gives every wanted repository the
  // quick look, which reads them.
  const disk = new Map<string, DiskRepo>();
  const quickRoots = isLocalSite(config.remote.site) ? ctx.roots : null;
  const recheck = opts.force || quickRoots !== null;
  const changed: [string, ManifestEntry][] = [];
  const wanted = new Map<string, ManifestEntry>();
  for (const [k, e] of remoteEntries) {
    if (!isWanted(k, pullOpts)) continue;
    wanted.set(k, e);
    const held = local.get(k);
    const unmarked = held !== undefined && held.partial === undefined && config.pull.partial.length > 0 && matchesAny(k, config.pull.partial);
    const look = diskLook(e, held, recheck, unmarked);
    if (look === 'none') disk.set(k, recordedDisk(held!));
    else if (look === 'quick') disk.set(k, quickDiskState(toplevel, k, e, config.pull.default_owner, config.pull.remotename, quickRoots));
    else changed.push([k, e]);
  }
  await mapPool(changed, 8, async ([k, e]) => {
    disk.set(k, await diskState(git, toplevel, k, e, config.pull.remotename, ctx.roots));
  });
  // Entries refused on reading are held back: whatever we hold of them stays, and is never purged.
  const rejected = parsed.rejected;
  const { plan, actions, refused: unplanned } = await planPass(
    st,
    {
      entries: wanted,
      disk: (k) => disk.get(k)!,
      opts: pullOpts,
      localRepos,
      borrowedFrom: purging ? await borrowedFrom(toplevel, found) : new Set(),
      held: new Set(rejected.map((r) => r.key)),
    },
    log,
  );
  const refused: Refusal[] = [...rejected.filter((r) => isWanted(r.key, pullOpts)), ...unplanned];
  log.info(`${plan.wanted.size} repositories wanted, ${actions.length} need work, ${refused.length} refused, ${plan.purge.length} to purge`);
  return { source, validators, st, plan, actions, refused, walk };
}

/** grok-pull --dry-run: the plan of a pass, changing nothing on disk; null when the manifest is unchanged. */
export async function planOnly(config: GrokConfig, opts: PullRunOptions, deps: PullDeps): Promise<{ plan: PullPlan; actions: PullPlan['actions']; refused: readonly Refusal[] } | null> {
  const p = await prepare(config, opts, deps, guardEvents(undefined, deps.log), true);
  return p && { plan: p.plan, actions: p.actions, refused: p.refused };
}

/** The pass itself; `held` is the local manifest's size afterwards (null when it was not read). */
async function pass(config: GrokConfig, opts: PullRunOptions, deps: PullDeps, events: Events): Promise<{ res: PullResult; held: number | null }> {
  const { log } = deps;
  const empty: PullResult = { status: 'unchanged', cloned: [], updated: [], fixed: [], purged: [], deferred: [], failed: [], purgeRefused: null, archivedNotFetched: [] };
  const prepared = await prepare(config, opts, deps, events, false);
  if (!prepared) return { res: empty, held: null };
  const { source, validators, st, plan, actions, refused, walk } = prepared;
  const { toplevel, local } = st;
  const stateFile = remoteStatePath(config.core.manifest);
  events.onPlan({ kind: 'full', total: actions.length + refused.length, purge: plan.purge.length });

  const result: PullResult = { ...empty, status: 'done', purgeRefused: plan.purgeRefused, archivedNotFetched: [...plan.archivedNotFetched] };
  for (const k of plan.archivedNotFetched) log.info({ repo: k, action: 'skip' }, `${k} is archived; not fetched although the origin lists other refs`);
  const done = await executePass(config, st, actions, refused, log, events);
  result.cloned.push(...done.cloned);
  result.updated.push(...done.updated);
  result.fixed.push(...done.fixed);
  result.deferred.push(...done.deferred);
  result.failed.push(...done.failed);

  if (plan.purgeRefused) {
    log.error(`refusing to purge ${plan.purgeRefused.count} of ${plan.purgeRefused.total} repositories (purgeprotect ${config.pull.purgeprotect}%); use --force-purge if this is right`);
  }
  const paths = st.paths;
  for (const k of plan.purge) {
    try {
      const why = await localKeyProblem(paths, k);
      if (why) throw new GrokError('GROK_ERR_OUTSIDE_TOPLEVEL', `refusing to remove ${JSON.stringify(k)}: it ${why}`, { key: k });
      const repo = keyToPath(toplevel, k);
      await withLock(lockPathFor(repo), async () => {
        for (const s of local.get(k)?.symlinks ?? []) {
          if ((await localKeyProblem(paths, s, { link: true })) !== null || !(await removeLink(toplevel, s, repo))) {
            log.warn({ repo: k, action: 'purge' }, `${k}: left ${s} alone (not a symlink to ${k})`);
          }
        }
        await removeRepo(toplevel, k);
      }, { timeoutMs: 5_000 });
      // Its lock file would stay for ever: gone with it, unless someone holds it this very moment.
      await removeLockIfGone(repo).catch(() => false);
      local.delete(k);
      result.purged.push(k);
      log.info({ repo: k, action: 'purge' }, `purged ${k}`);
    } catch (err) {
      result.failed.push({ key: k, error: `purge: ${describeError(err)}` });
    }
  }
  for (const f of await removeOrphanLocks(walk?.orphanLocks ?? [])) log.info(`removed ${f}: the lock file of a repository that is gone`);
  await finishPass(config, st, result.cloned, { flush: true, projectsList: true, workHook: true }, log);
  // Recorded last, and only when everything was done: otherwise the next pass fetches and retries. A
  // refusal is no reason to: the same manifest would be refused the same way, and a large one would be
  // fetched whole on every pass for nothing; a changed manifest (or -n) is read again.
  if (result.failed.every((f) => f.error.startsWith(REFUSED)) && result.deferred.length === 0) {
    await writeRemoteState(stateFile, remoteStateAfter(source, validators, config.lastModified, deps.now()));
  }
  return { res: result, held: local.size };
}
