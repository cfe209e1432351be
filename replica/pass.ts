/**
 * The one pipeline of a grok-pull pass. A full pass (run.ts: the remote manifest) and a targeted one
 * (targeted.ts: feed events, socket notices) differ only in where their entries come from and in
 * purging; both then take these steps in this order: read the local manifest, judge the entries,
 * look at the disk, plan (plan.ts), refuse what is unsafe on disk, report the refused, execute, flush
 * the local manifest, write projects.list, run the hooks (docs/architecture.md "Where each decision
 * lives").
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleepMs } from 'node:timers/promises';
import type { GrokConfig } from '../shared/config/config.js';
import { describeError } from '../shared/errors.js';
import type { Git } from '../shared/git/index.js';
import { lockPathFor, withLock } from '../shared/lock.js';
import type { Logger } from '../shared/log.js';
import type { Manifest } from '../shared/manifest/entry.js';
import { readManifestFile, writeManifestFile } from '../shared/manifest/io.js';
import { keyToPath } from '../shared/manifest/keys.js';
import { remoteStatePath } from './source/remote-manifest.js';
import { removeStaleTemps } from '../shared/fs/atomic.js';
import { removeKilledManifestWrites } from '../shared/manifest/killed-writes.js';
import { workContext } from './execute/context.js';
import type { WorkContext } from './execute/apply-action.js';
import { executeActions, type ExecuteResult } from './execute/action-pool.js';
import { runHooks } from './execute/hooks.js';
import { localPaths, REFUSED, refusalMessage, refuseUnsafe, type LocalPaths } from './execute/local-paths.js';
import { projectsListOptions, writeProjectsList } from './execute/projects-list.js';
import { guardEvents, type PassKind } from './events.js';
import { planPull, type DiskRepo, type PullOptions, type PullPlan, type Refusal } from './plan.js';

export type Events = ReturnType<typeof guardEvents>;

/** What every pass reports; a full pass adds its purges. */
export interface PassCounts {
  readonly cloned: readonly string[];
  readonly updated: readonly string[];
  readonly fixed: readonly string[];
  readonly deferred: readonly string[];
  readonly failed: readonly { key: string; error: string }[];
  readonly purged?: readonly string[];
}

/**
 * Runs a pass between onPassStart and onPassDone (also when it throws). `held` is the local
 * manifest's size afterwards, null when it was not read.
 */
export async function observePass<R extends PassCounts>(
  kind: PassKind,
  events: Events,
  body: () => Promise<{ res: R; status: 'unchanged' | 'done'; held: number | null }>,
): Promise<R> {
  const started = performance.now();
  events.onPassStart({ kind });
  try {
    const { res, status, held } = await body();
    events.onPassDone({
      kind,
      status,
      ms: performance.now() - started,
      cloned: res.cloned.length,
      updated: res.updated.length,
      fixed: res.fixed.length,
      purged: res.purged?.length ?? 0,
      deferred: res.deferred.length,
      failed: res.failed.length,
      ...(held !== null ? { held } : {}),
    });
    return res;
  } catch (err) {
    events.onPassDone({ kind, status: 'failed', ms: performance.now() - started, cloned: 0, updated: 0, purged: 0, deferred: 0, failed: 0, error: describeError(err) });
    throw err;
  }
}

export interface PassDeps {
  readonly git: Git;
  readonly log: Logger;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly warned?: Set<string>;
}

/** What a pass holds from start to end: the local manifest it changes, and how to write it. */
export interface PassState {
  readonly toplevel: string;
  readonly localFile: string;
  readonly local: Manifest;
  readonly ctx: WorkContext;
  readonly paths: LocalPaths;
  readonly flush: () => Promise<void>;
}

/**
 * Step 1: the toplevel (made when missing), the local manifest, the work context. `readOnly` (a dry
 * run): nothing made or removed, a missing toplevel taken as empty.
 */
export async function openPass(config: GrokConfig, deps: PassDeps, readOnly = false): Promise<PassState> {
  if (!readOnly) await fsp.mkdir(config.core.toplevel, { recursive: true });
  const toplevel = await fsp.realpath(config.core.toplevel).catch((err: unknown) => {
    if (readOnly && (err as NodeJS.ErrnoException).code === 'ENOENT') return path.resolve(config.core.toplevel);
    throw err;
  });
  const localFile = config.core.manifest;
  if (!readOnly) await removeKilledLocalWrites(config, deps.log);
  const local: Manifest = (await readManifestFile(localFile, config.core.manifest_max_size))?.entries ?? new Map();
  const ctx = workContext(config, deps.git, toplevel, local, deps.sleep ?? ((ms: number) => sleepMs(ms)), deps.warned);
  const flush = () => withLock(lockPathFor(localFile), () => writeManifestFile(localFile, local, { pretty: config.manifest.pretty }));
  return { toplevel, localFile, local, ctx, paths: localPaths(config, toplevel), flush };
}

/**
 * A pass killed while writing the local manifest, its remote-manifest state or projects.list left a
 * temp file; nothing else on a replica but grok-fsck (the manifest's only) would ever remove them. Every
 * pass looks, an unchanged one too. The last two are written by passes only, and a pass holds the pass
 * lock (one per toplevel, docs/architecture.md), so a temp file of them is a killed pass's.
 */
export async function removeKilledLocalWrites(config: GrokConfig, log: Logger): Promise<void> {
  for (const n of await removeKilledManifestWrites(config.core.manifest)) log.warn(`removed ${n}, left by a manifest write that was cut short`);
  for (const n of await removeStaleTemps(remoteStatePath(config.core.manifest))) log.warn(`removed ${n}, left by a remote-manifest state write that was cut short`);
  if (config.pull.projectslist) {
    for (const n of await removeStaleTemps(config.pull.projectslist)) log.warn(`removed ${n}, left by a projects.list write that was cut short`);
  }
}

/** Held-back entries count as failed repositories (the pass exits 1 naming them), their mirrors untouched. */
export function reportRefused(refused: readonly Refusal[], failed: { key: string; error: string }[], events: Events): void {
  for (const r of refused) {
    const error = `${REFUSED}${r.why}`;
    failed.push({ key: r.key, error });
    events.onRepoDone({ key: r.key, op: 'update', result: 'failed', ok: false, error, ms: 0 });
  }
}

export interface PlanInput {
  readonly entries: Manifest;
  readonly disk: (key: string) => DiskRepo;
  readonly opts: PullOptions;
  readonly localRepos?: readonly string[];
  readonly borrowedFrom?: ReadonlySet<string>;
  /** Keys refused before planning: never purged. */
  readonly held?: ReadonlySet<string>;
  /** Keys named by a notice: fetched whatever the fingerprints say. */
  readonly notified?: ReadonlySet<string>;
}

/** Steps 4-5: the planner, then what the disk makes unsafe; every refusal logged once. */
export async function planPass(state: PassState, input: PlanInput, log: Logger): Promise<{ plan: PullPlan; actions: PullPlan['actions']; refused: Refusal[] }> {
  const plan = planPull(state.local, input.entries, input.disk, input.opts, input.localRepos, input.borrowedFrom, input.held, input.notified);
  for (const r of plan.refused) log.error({ repo: r.key, action: 'refuse' }, refusalMessage(r.key, r.why));
  const { ok: actions, refused: unsafe } = await refuseUnsafe(state.paths, plan.actions, log);
  return { plan, actions, refused: [...plan.refused, ...unsafe] };
}

/** Steps 6-7: the refused reported as failed, then the work (which flushes the local manifest as it goes). */
export async function executePass(
  config: GrokConfig,
  state: PassState,
  actions: PullPlan['actions'],
  refused: readonly Refusal[],
  log: Logger,
  events: Events,
): Promise<ExecuteResult> {
  const failed: { key: string; error: string }[] = [];
  reportRefused(refused, failed, events);
  const done = await executeActions(config, state.ctx, actions, state.local, log, state.flush, events.onRepoDone);
  return { ...done, failed: [...failed, ...done.failed] };
}

/** Steps 8-10: flush the local manifest, write projects.list, run the hooks; each only when asked. */
export async function finishPass(
  config: GrokConfig,
  state: PassState,
  cloned: readonly string[],
  what: { readonly flush: boolean; readonly projectsList: boolean; readonly workHook: boolean },
  log: Logger,
): Promise<void> {
  if (what.flush) await state.flush();
  if (what.projectsList && config.pull.projectslist) {
    await writeProjectsList(config.pull.projectslist, state.local, projectsListOptions(config));
  }
  if (cloned.length > 0) {
    await runHooks('post_clone_complete_hook', config.pull.post_clone_complete_hook, { stdin: cloned.map((k) => `${keyToPath(state.toplevel, k)}\n`).join('') }, log);
  }
  if (what.workHook) await runHooks('post_work_complete_hook', config.pull.post_work_complete_hook, {}, log);
}

