/**
 * Runs planned actions with `pull_threads` workers, each under its repository's lock: a repository
 * another process holds is tried once more at the end and otherwise left for the next pass (never
 * waited on forever). The local manifest is updated as repositories finish and flushed every 100.
 * Each action's outcome is reported once, through `onRepoDone`, when it is final.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { GrokConfig } from '../../shared/config/config.js';
import { describeError } from '../../shared/errors.js';
import { acquireLock, isLockBusy, lockPathFor } from '../../shared/lock.js';
import type { Logger } from '../../shared/log.js';
import type { Manifest } from '../../shared/manifest/entry.js';
import { keyToPath } from '../../shared/manifest/keys.js';
import { mapPool } from '../../shared/pool.js';
import type { RepoDone } from '../events.js';
import type { RepoAction } from '../plan.js';
import { runHooks } from './hooks.js';
import { actionProblem, localPaths, REFUSED, refusalMessage } from './local-paths.js';
import { applyAction, type WorkContext, type WorkDone } from './apply-action.js';
import { emptyTrash, TRASH_DIR } from './trash.js';

export interface ExecuteResult {
  readonly cloned: string[];
  readonly updated: string[];
  /** Worked on without a fetch: its settings (description, owner, HEAD, symlinks), remote or archived flag put right. */
  readonly fixed: string[];
  readonly deferred: string[];
  readonly failed: { key: string; error: string }[];
}

const FLUSH_EVERY = 100;

/**
 * A fetch that did not end at the fingerprint the origin lists. When it brought new refs, the
 * repository changed again after its entry was written (two updates close together, the second
 * entry not read yet): normal, and the next entry lists what we hold. When it brought nothing new,
 * the origin serves what it served before while listing something else: its manifest was not
 * updated after a change (a push whose hook did not run, a manifest writer that failed). Only that
 * one is a warning, once per daemon.
 */
function reportMismatch(a: RepoAction, done: WorkDone, log: Logger, warned?: Set<string>): void {
  const held = done.entry.fingerprint.slice(0, 12);
  const listed = a.entry.fingerprint.slice(0, 12);
  if (done.fingerprintBefore !== done.entry.fingerprint) {
    log.info({ repo: a.key }, `${a.key}: fetched ${held}, not the ${listed} the origin's manifest lists: the repository changed after that entry was written (the next entry lists it)`);
    return;
  }
  const mismatch = `${a.key} ${a.entry.fingerprint}`;
  if (warned?.has(mismatch)) return;
  warned?.add(mismatch);
  log.warn({ repo: a.key }, `${a.key}: the origin lists ${listed} but still serves ${held}, as at the last fetch: its manifest entry was not updated after the repository changed (a push whose hook did not run?)`);
}

export async function executeActions(
  config: GrokConfig,
  ctx: WorkContext,
  actions: readonly RepoAction[],
  local: Manifest,
  log: Logger,
  flush: () => Promise<void>,
  onRepoDone: (done: RepoDone) => void = () => {},
): Promise<ExecuteResult> {
  const result: ExecuteResult = { cloned: [], updated: [], fixed: [], deferred: [], failed: [] };
  for (const n of await emptyTrash(ctx.toplevel)) log.info(`removed ${n} from ${TRASH_DIR}: a removal a killed pass left unfinished`);
  let sinceFlush = 0;
  const paths = localPaths(config, ctx.toplevel);
  const failed = (a: RepoAction, err: unknown, started: number, logged = false) => {
    const error = describeError(err);
    result.failed.push({ key: a.key, error });
    if (!logged) log.error({ repo: a.key, action: a.op }, `${a.key}: ${error}`);
    onRepoDone({ key: a.key, op: a.op, result: 'failed', ok: false, error, ms: performance.now() - started });
  };
  const work = async (a: RepoAction, waitMs: number): Promise<boolean> => {
    let held;
    const started = performance.now();
    const repo = keyToPath(ctx.toplevel, a.key);
    // Checked again now, before even the lock file is written: what this pass did since it was planned
    // (a symlink made for another entry) or anyone else did may have put the key where it must not go.
    const why = await actionProblem(paths, a).catch((err: unknown) => describeError(err));
    if (why) {
      log.error({ repo: a.key, action: 'refuse' }, refusalMessage(a.key, why));
      failed(a, `${REFUSED}${why}`, started, true);
      return true;
    }
    try {
      held = await acquireLock(lockPathFor(repo), { timeoutMs: waitMs });
    } catch (err) {
      if (isLockBusy(err)) return false;
      failed(a, err, started);
      return true;
    }
    try {
      const done = await applyAction(ctx, a);
      for (const n of done.notes) log.warn({ repo: a.key }, `${a.key}: ${n}`);
      local.set(a.key, done.entry);
      if (done.cloned) result.cloned.push(a.key);
      else if (done.pulled) result.updated.push(a.key);
      else result.fixed.push(a.key);
      if (done.pulled && done.entry.fingerprint !== a.entry.fingerprint) reportMismatch(a, done, log, ctx.warned);
      if (done.pulled) await runHooks('post_update_hook', config.pull.post_update_hook, { args: [repo] }, log);
      const outcome = done.cloned ? 'cloned' : done.pulled ? 'updated' : 'fixed';
      // the same word as the pass summary counts it under
      log.info({ repo: a.key, action: a.op }, `${a.op === 'reclone' ? 'recloned' : outcome} ${a.key}${outcome === 'fixed' ? ' (settings only, nothing fetched)' : ''}`);
      onRepoDone({ key: a.key, op: a.op, result: outcome, ok: true, ms: performance.now() - started, ...(done.pulled ? { bytes: done.bytes } : {}) });
    } catch (err) {
      failed(a, err, started);
    } finally {
      await held.release();
    }
    if (++sinceFlush >= FLUSH_EVERY) {
      sinceFlush = 0;
      await flush();
    }
    return true;
  };
  const threads = config.pull.pull_threads || Math.max(1, Math.floor(os.availableParallelism() / 2));
  const busy: RepoAction[] = [];
  // New clones of one forkgroup go one after another: the first seeds the objstore the others borrow from.
  const forkgroupTail = new Map<string, Promise<unknown>>();
  const inOrder = (a: RepoAction, fn: () => Promise<void>): Promise<void> => {
    const fg = a.op !== 'update' ? a.entry.forkgroup : undefined;
    if (!fg) return fn();
    const run = (forkgroupTail.get(fg) ?? Promise.resolve()).then(fn);
    forkgroupTail.set(fg, run.catch(() => {}));
    return run;
  };
  await mapPool(actions, threads, (a) => inOrder(a, async () => void ((await work(a, 0)) || busy.push(a))));
  // Repositories another process held: one more try once the rest is done, then leave them for next time.
  for (const a of busy) {
    const started = performance.now();
    if (await work(a, 5_000)) continue;
    result.deferred.push(a.key);
    log.warn({ repo: a.key, action: a.op }, `${a.key} is locked by another process; left for the next pass`);
    onRepoDone({ key: a.key, op: a.op, result: 'deferred', ok: false, error: 'locked by another process; left for the next pass', ms: performance.now() - started });
  }
  return result;
}
