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
import { doRepoWork, type WorkContext } from './repo-work.js';
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
  const failed = (a: RepoAction, err: unknown, started: number) => {
    const error = describeError(err);
    result.failed.push({ key: a.key, error });
    log.error({ repo: a.key }, `${a.key}: ${error}`);
    onRepoDone({ key: a.key, op: a.op, result: 'failed', ok: false, error, ms: performance.now() - started });
  };
  const work = async (a: RepoAction, waitMs: number): Promise<boolean> => {
    let held;
    const started = performance.now();
    const repo = keyToPath(ctx.toplevel, a.key);
    try {
      held = await acquireLock(lockPathFor(repo), { timeoutMs: waitMs });
    } catch (err) {
      if (isLockBusy(err)) return false;
      failed(a, err, started);
      return true;
    }
    try {
      const done = await doRepoWork(ctx, a);
      for (const n of done.notes) log.warn({ repo: a.key }, `${a.key}: ${n}`);
      local.set(a.key, done.entry);
      if (done.cloned) result.cloned.push(a.key);
      else if (done.pulled) result.updated.push(a.key);
      else result.fixed.push(a.key);
      const mismatch = `${a.key} ${a.entry.fingerprint}`;
      if (done.pulled && done.entry.fingerprint !== a.entry.fingerprint && !ctx.warned?.has(mismatch)) {
        ctx.warned?.add(mismatch);
        log.warn({ repo: a.key }, `${a.key}: fetched, but holds ${done.entry.fingerprint.slice(0, 12)} where the origin lists ${a.entry.fingerprint.slice(0, 12)}`);
      }
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
    log.warn({ repo: a.key }, `${a.key} is locked by another process; left for the next pass`);
    onRepoDone({ key: a.key, op: a.op, result: 'deferred', ok: false, error: 'locked by another process; left for the next pass', ms: performance.now() - started });
  }
  return result;
}
