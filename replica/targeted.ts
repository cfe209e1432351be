/**
 * Updating a few named repositories at once, without reading the remote manifest: for the change
 * feed (each event carries the new entry) and the socket (a path; the repository is fetched as is).
 * The same planner and executor as a full pass; purges and removals are left to full passes.
 */
import { promises as fsp } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleepMs } from 'node:timers/promises';
import type { GrokConfig } from '../shared/config/config.js';
import { describeError } from '../shared/errors.js';
import type { Git } from '../shared/git/index.js';
import { lockPathFor, withLock } from '../shared/lock.js';
import type { Logger } from '../shared/log.js';
import { entryProblem, normaliseEntry, type Manifest, type ManifestEntry } from '../shared/manifest/entry.js';
import { readManifestFile, writeManifestFile } from '../shared/manifest/io.js';
import { keyProblem } from '../shared/manifest/keys.js';
import { diskState } from './execute/disk-state.js';
import { localPaths, refusalMessage, refuseUnsafe } from './execute/local-paths.js';
import { executeActions, type ExecuteResult } from './execute/execute-actions.js';
import { pullOptions, workContext } from './execute/context.js';
import { runHooks } from './execute/hooks.js';
import { projectsListOptions, writeProjectsList } from './execute/projects-list.js';
import { guardEvents, type PullEvents } from './events.js';
import { mapLegacyReferences } from './legacy-reference.js';
import { isWanted, layoutProblems, planPull, type Refusal, type RepoAction } from './plan.js';
import { reportRefused } from './run.js';

export interface TargetItem {
  readonly key: string;
  /** From a feed event; absent for a socket notice (fetch whatever the origin has). */
  readonly entry?: ManifestEntry;
}

export interface TargetDeps {
  readonly git: Git;
  readonly log: Logger;
  readonly warned?: Set<string>;
  readonly events?: PullEvents;
}

type TargetResult = ExecuteResult & { ignored: string[] };

export async function pullTargets(config: GrokConfig, items: readonly TargetItem[], deps: TargetDeps): Promise<TargetResult> {
  const events = guardEvents(deps.events, deps.log);
  const started = performance.now();
  events.onPassStart({ kind: 'targeted' });
  try {
    const { res, held } = await targeted(config, items, deps, events);
    const counts = { cloned: res.cloned.length, updated: res.updated.length, fixed: res.fixed.length, purged: 0, deferred: res.deferred.length, failed: res.failed.length };
    events.onPassDone({ kind: 'targeted', status: 'done', ms: performance.now() - started, ...counts, held });
    return res;
  } catch (err) {
    events.onPassDone({ kind: 'targeted', status: 'failed', ms: performance.now() - started, cloned: 0, updated: 0, purged: 0, deferred: 0, failed: 0, error: describeError(err) });
    throw err;
  }
}

async function targeted(config: GrokConfig, items: readonly TargetItem[], deps: TargetDeps, events: ReturnType<typeof guardEvents>): Promise<{ res: TargetResult; held: number }> {
  const { git, log } = deps;
  const toplevel = await fsp.realpath(config.core.toplevel);
  const localFile = config.core.manifest;
  const local: Manifest = (await readManifestFile(localFile, config.core.manifest_max_size))?.entries ?? new Map();
  const ignored: string[] = [];
  const refused: Refusal[] = [];
  const planned: RepoAction[] = [];
  const opts = pullOptions(config, { purge: false, forcePurge: false });
  const refuse = (key: string, why: string) => {
    log.error({ repo: key, action: 'refuse' }, refusalMessage(key, why));
    refused.push({ key, why });
  };
  // Entries from feed events: checked as a manifest's are, then judged in place among what we hold.
  // A socket notice carries only a path: one we do not mirror is ignored, as grokmirror does.
  const fresh = new Map<string, ManifestEntry>();
  const skip = new Set<string>();
  const ctx = workContext(config, git, toplevel, local, (ms) => sleepMs(ms), deps.warned);
  for (const item of items) {
    const why = keyProblem(item.key) ?? (item.entry ? entryProblem(item.entry) : null);
    if (!isWanted(item.key, opts) || (why && !item.entry)) {
      if (why) log.warn({ repo: item.key }, `ignoring a notice for ${JSON.stringify(item.key)}: ${why}`);
      ignored.push(item.key);
    } else if (why) refuse(item.key, why);
    else if (item.entry) fresh.set(item.key, normaliseEntry({ ...item.entry }));
    if (why || !isWanted(item.key, opts)) skip.add(item.key);
  }
  let layout = new Map<string, string>();
  if (fresh.size > 0) {
    const all = new Map(local);
    for (const [k, e] of fresh) all.set(k, e);
    layout = layoutProblems(all, fresh.keys());
  }
  for (const item of items) {
    if (skip.has(item.key)) continue;
    const fromFeed = fresh.get(item.key);
    // a 1.x style entry (reference, no forkgroup) joins the forkgroup a full pass gives it
    const entry = fromFeed && mapLegacyReferences(new Map([[item.key, fromFeed]]), local).get(item.key);
    if (entry) {
      const why = layout.get(item.key);
      if (why) {
        refuse(item.key, why);
        continue;
      }
      const disk = await diskState(git, toplevel, item.key, entry, config.pull.remotename, ctx.roots);
      planned.push(...planPull(local, new Map([[item.key, entry]]), () => disk, opts).actions);
      continue;
    }
    // A socket notice names a repository we already mirror (grokmirror ignores anything else); an
    // archived one is not fetched (the origin's manifest un-archives it, not a notice).
    const known = local.get(item.key);
    if (!known || known.archived === true) {
      ignored.push(item.key);
      continue;
    }
    planned.push({ key: item.key, entry: known, op: 'update', fixRemotes: false, fixParams: false, pull: true, newlyArchived: false });
  }
  const { ok: actions, refused: unsafe } = await refuseUnsafe(localPaths(config, toplevel), planned, log);
  refused.push(...unsafe);
  // An entry archived or unarchived changes what projects.list shows.
  const flagFlips = actions.some((a) => (local.get(a.key)?.archived === true) !== (a.entry.archived === true));
  const flush = () => withLock(lockPathFor(localFile), () => writeManifestFile(localFile, local, { pretty: config.manifest.pretty }));
  events.onPlan({ kind: 'targeted', total: actions.length + refused.length, purge: 0 });
  const done = await executeActions(config, ctx, actions, local, log, flush, events.onRepoDone);
  reportRefused(refused, done.failed, events);
  if (actions.length > 0) await flush();
  if ((done.cloned.length > 0 || flagFlips) && config.pull.projectslist) {
    await writeProjectsList(config.pull.projectslist, local, projectsListOptions(config));
  }
  if (done.cloned.length > 0) {
    await runHooks('post_clone_complete_hook', config.pull.post_clone_complete_hook, { stdin: done.cloned.map((k) => `${toplevel}${k}\n`).join('') }, log);
  }
  if (actions.length > 0) await runHooks('post_work_complete_hook', config.pull.post_work_complete_hook, {}, log);
  return { res: { ...done, ignored }, held: local.size };
}
