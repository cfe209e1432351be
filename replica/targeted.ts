/**
 * Updating a few named repositories at once, without reading the remote manifest: for the change
 * feed (each event carries the new entry) and the socket (a path; the repository is fetched as is).
 * The same planner and executor as a full pass; purges and removals are left to full passes.
 */
import type { GrokConfig } from '../shared/config/config.js';
import type { Git } from '../shared/git/index.js';
import type { Logger } from '../shared/log.js';
import { entryProblem, normaliseEntry, type ManifestEntry } from '../shared/manifest/entry.js';
import { keyProblem } from '../shared/manifest/keys.js';
import { diskState } from './execute/disk-state.js';
import { refusalMessage } from './execute/local-paths.js';
import type { ExecuteResult } from './execute/action-pool.js';
import { pullOptions } from './execute/context.js';
import { guardEvents, type PullEvents } from './events.js';
import { mapLegacyReferences } from './legacy-reference.js';
import { isWanted, layoutProblems, recordedDisk, type DiskRepo, type Refusal } from './plan.js';
import { executePass, finishPass, observePass, openPass, planPass, type Events } from './pass.js';

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
  return observePass('targeted', events, async () => ({ ...(await targeted(config, items, deps, events)), status: 'done' }));
}

async function targeted(config: GrokConfig, items: readonly TargetItem[], deps: TargetDeps, events: Events): Promise<{ res: TargetResult; held: number }> {
  const { git, log } = deps;
  const st = await openPass(config, deps);
  const { toplevel, local, ctx } = st;
  const ignored: string[] = [];
  const refused: Refusal[] = [];
  const opts = pullOptions(config, { purge: false, forcePurge: false });
  const refuse = (key: string, why: string) => {
    log.error({ repo: key, action: 'refuse' }, refusalMessage(key, why));
    refused.push({ key, why });
  };
  // Entries from feed events: checked as a manifest's are, then judged in place among what we hold.
  // A socket notice carries only a path: one we do not mirror is ignored, as grokmirror does.
  const fresh = new Map<string, ManifestEntry>();
  const skip = new Set<string>();
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
  const entries = new Map<string, ManifestEntry>();
  const disk = new Map<string, DiskRepo>();
  const notified = new Set<string>();
  for (const item of items) {
    if (skip.has(item.key)) continue;
    const fromFeed = fresh.get(item.key);
    // a 1.x style entry (reference, no forkgroup) joins the forkgroup a full pass gives it
    const entry = fromFeed && mapLegacyReferences(new Map([[item.key, fromFeed]]), local).get(item.key);
    if (entry) {
      const why = layout.get(item.key);
      if (why) refuse(item.key, why);
      else {
        entries.set(item.key, entry);
        disk.set(item.key, await diskState(git, toplevel, item.key, entry, config.pull.remotename, ctx.roots));
      }
      continue;
    }
    // A socket notice names a repository we already mirror (grokmirror ignores anything else); an
    // archived one is not fetched (the origin's manifest un-archives it, not a notice).
    const known = local.get(item.key);
    if (!known || known.archived === true) {
      ignored.push(item.key);
      continue;
    }
    entries.set(item.key, known);
    // A socket notice carries no entry, so there is nothing to compare the repository's settings
    // with: the recorded entry stands for the disk, and the notice asks for a fetch only.
    disk.set(item.key, recordedDisk(known));
    notified.add(item.key);
  }
  const planned = await planPass(st, { entries, disk: (k) => disk.get(k)!, opts, notified }, log);
  const actions = planned.actions;
  refused.push(...planned.refused);
  // An entry archived or unarchived changes what projects.list shows.
  const flagFlips = actions.some((a) => (local.get(a.key)?.archived === true) !== (a.entry.archived === true));
  events.onPlan({ kind: 'targeted', total: actions.length + refused.length, purge: 0 });
  const done = await executePass(config, st, actions, refused, log, events);
  await finishPass(config, st, done.cloned, { flush: actions.length > 0, projectsList: done.cloned.length > 0 || flagFlips, workHook: actions.length > 0 }, log);
  return { res: { ...done, ignored }, held: local.size };
}
