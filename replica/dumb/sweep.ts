/**
 * List mode's work on one URL: ask the remote for its refs (ls-remote), compare with the mirror
 * (plan.ts), and clone or fetch only when they differ. Network steps go through the per-host limiter
 * and are retried on transient failures; the result is the URL's new state entry, never a throw.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describeError } from '../../shared/errors.js';
import { mirrorClone, mirrorFetch, type Git } from '../../shared/git/index.js';
import type { Logger } from '../../shared/log.js';
import { lockPathFor, withLock } from '../../shared/lock.js';
import { keyToPath } from '../../shared/manifest/keys.js';
import { isBareRepo } from '../../shared/repo/bare.js';
import { removeWorkLeftovers, workPath } from '../../shared/repo/work-names.js';
import { runHooks } from '../execute/hooks.js';
import type { Collection } from './collection.js';
import type { HostLimiter } from './host-limiter.js';
import { localRefs } from './local-refs.js';
import { placeProblem, type RepoCache } from './placement.js';
import { MIRROR_REFSPECS, planRepo, type RefMap } from './plan.js';
import { advertisedDigest, mirrorDigest } from './refs-digest.js';
import { withRetries, type Attempted, type RetryPolicy } from './retry.js';
import type { StateEntry } from './state.js';
import type { ListedUrl } from './url-list.js';
import { redactUrls } from '../../shared/safe-text.js';

/** How long a check waits for a mirror's lock (a repack, another worker) before it counts as failed. */
export const REPO_LOCK_WAIT_MS = 120_000;

export interface SweepContext {
  readonly toplevel: string;
  readonly git: Git;
  readonly log: Logger;
  readonly limiter: HostLimiter;
  readonly retry: RetryPolicy;
  readonly postUpdateHook: readonly string[];
  /** The remote's refs for an upstream URL (ref-probe.ts: one HTTP request, or git ls-remote). */
  readonly remoteRefs: (url: string) => Promise<Map<string, string>>;
  /** Skip ls-remote and fetch every repository (the benchmark's baseline; --no-detect). */
  readonly detect: boolean;
  /** Which directories are repositories, as far as this sweep has looked (placement.ts). */
  readonly repoCache: RepoCache;
  readonly nowSec: () => number;
  /** Objects from the whole collection (collection.ts); absent: each URL cloned and fetched alone. */
  readonly collection?: Collection | null;
}

async function cloneMirror(ctx: SweepContext, url: string, dir: string, reference: string | null): Promise<void> {
  await fsp.mkdir(path.dirname(dir), { recursive: true });
  // Temp clones a killed sweep left (work-names.ts: discovery and manifest walks skip them). The
  // repository's lock is held here, so none is a clone in the making.
  await removeWorkLeftovers(dir, 'init');
  const tmp = workPath(dir, 'init');
  try {
    await ctx.git.run(mirrorClone(url, tmp, { reference }));
    // A repo that appeared meanwhile (another sweep) is never replaced: rename fails on a non-empty dir.
    await fsp.rename(tmp, dir);
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

function failed(prev: StateEntry | undefined, key: string, r: Extract<Attempted<unknown>, { ok: false }>, attempts: number, now: number): StateEntry {
  return {
    ...prev,
    key,
    state: r.kind === 'transient' ? 'failed' : r.kind,
    attempts,
    failures: (prev?.failures ?? 0) + 1,
    lastError: r.error,
    lastChecked: now,
  };
}

export async function sweepOne(item: ListedUrl, prev: StateEntry | undefined, ctx: SweepContext): Promise<StateEntry> {
  const log = ctx.log.child({ repo: item.key });
  const dir = keyToPath(ctx.toplevel, item.key);
  const now = ctx.nowSec();
  const net = <T>(fn: () => Promise<T>) => withRetries(ctx.retry, () => ctx.limiter.run(item.host, fn));
  let attempts = 0;
  let action: 'clone' | 'fetch' | 'unchanged';
  let local: RefMap | null = null;
  let remoteRefs: RefMap | null = null;
  try {
    const misplaced = await placeProblem(ctx.toplevel, item.key, ctx.repoCache);
    if (misplaced) {
      log.error({ action: 'check' }, `${redactUrls(item.url)}: ${misplaced}; refused`);
      return { ...prev, key: item.key, state: 'invalid', attempts: 0, failures: prev?.failures ?? 0, lastError: misplaced, lastChecked: now };
    }
    // The upstream's refs digest to what the mirror was left with: unchanged, decided without reading
    // the mirror (most of a sweep). A mirror gone from disk is looked at whatever the digest says.
    if (ctx.detect && prev?.digest && (await fsp.stat(dir).then(() => true, () => false))) {
      const remote = await net(() => ctx.remoteRefs(item.url));
      attempts += remote.attempts;
      if (!remote.ok) {
        log.warn({ action: 'ls-remote' }, `${redactUrls(item.url)}: ${remote.kind}: ${remote.error}`);
        return failed(prev, item.key, remote, attempts, now);
      }
      if (advertisedDigest(remote.value) === prev.digest) {
        log.debug({ action: 'unchanged' }, `${item.key}: unchanged`);
        return { key: item.key, state: 'unchanged', attempts, failures: 0, lastChecked: now, digest: prev.digest, ...(prev.lastChanged ? { lastChanged: prev.lastChanged } : {}) };
      }
      remoteRefs = remote.value;
    }
    local = await localRefs(ctx.git, dir);
    if (local === null && (await fsp.stat(dir).then(() => true, () => false))) {
      const error = `${dir} exists and is not a bare git repository; left alone`;
      log.error({ action: 'check' }, error);
      return { ...prev, key: item.key, state: 'failed', attempts: 0, failures: (prev?.failures ?? 0) + 1, lastError: error, lastChecked: now };
    }
    if (remoteRefs !== null) {
      action = planRepo(remoteRefs, local, MIRROR_REFSPECS);
    } else if (ctx.detect || local === null) {
      const remote = await net(() => ctx.remoteRefs(item.url));
      attempts += remote.attempts;
      if (!remote.ok) {
        log.warn({ action: 'ls-remote' }, `${redactUrls(item.url)}: ${remote.kind}: ${remote.error}`);
        return failed(prev, item.key, remote, attempts, now);
      }
      remoteRefs = remote.value;
      action = planRepo(remote.value, local, MIRROR_REFSPECS);
    } else {
      action = 'fetch';
    }
  } catch (err) {
    const error = describeError(err);
    log.error({ action: 'check' }, `${item.key}: ${error}`);
    return { ...prev, key: item.key, state: 'failed', attempts, failures: (prev?.failures ?? 0) + 1, lastError: error, lastChecked: now };
  }
  if (action === 'unchanged') {
    log.debug({ action }, `${item.key}: unchanged`);
    if (local !== null) await collectionStep(ctx, log, () => ctx.collection!.settle(dir, false));
    return { key: item.key, state: 'unchanged', attempts, failures: 0, lastChecked: now, ...(local ? { digest: mirrorDigest(local) } : {}), ...(prev?.lastChanged ? { lastChanged: prev.lastChanged } : {}) };
  }
  // Outside the repository's lock: beforeClone may wait for this process's clones that share a tip,
  // and beforeFetch may join an objstore, which takes that lock itself.
  const borrow = await collectionStep(ctx, log, async () => {
    if (action === 'clone') return ctx.collection!.beforeClone(dir, remoteRefs ?? new Map());
    if (remoteRefs !== null) await ctx.collection!.beforeFetch(dir, remoteRefs, local);
    return null;
  });
  let done: Attempted<unknown>;
  try {
    // The repository's lock (grok-pull's and grok-fsck's too) keeps two workers sharing a toplevel,
    // and a repack, off one mirror at a time. A clone that another worker made while this one waited
    // for the lock is brought up to date instead.
    try {
      done = await withLock(
        lockPathFor(dir),
        async () => {
          if (action === 'clone' && (await isBareRepo(dir))) action = 'fetch';
          const reference = action === 'clone' ? (borrow?.reference ?? null) : null;
          let d = await net<unknown>(() => (action === 'clone' ? cloneMirror(ctx, item.url, dir, reference) : ctx.git.run(mirrorFetch(dir, 'origin', { forcedRefspecs: true }))));
          if (!d.ok && reference !== null) {
            // The objstore may have gone since it was chosen: the collection is a hint, a plain clone the fallback.
            log.warn({ action }, `${redactUrls(item.url)}: clone against ${reference} failed (${d.error}); cloning alone`);
            attempts += d.attempts;
            d = await net<unknown>(() => cloneMirror(ctx, item.url, dir, null));
          }
          return d;
        },
        { timeoutMs: REPO_LOCK_WAIT_MS },
      );
    } catch (err) {
      const error = describeError(err);
      log.warn({ action }, `${item.key}: ${error}`);
      return { ...prev, key: item.key, state: 'failed', attempts, failures: (prev?.failures ?? 0) + 1, lastError: error, lastChecked: now };
    }
    // After the lock: settle joins the objstore under the repository's lock and the store's.
    if (done.ok) await collectionStep(ctx, log, () => ctx.collection!.settle(dir, true));
  } finally {
    borrow?.release();
  }
  attempts += done.attempts;
  if (!done.ok) {
    log.warn({ action }, `${redactUrls(item.url)}: ${action} ${done.kind}: ${done.error}`);
    return failed(prev, item.key, done, attempts, now);
  }
  log.info({ action }, `${item.key}: ${action === 'clone' ? 'cloned' : 'fetched'}`);
  if (ctx.postUpdateHook.length > 0) await runHooks('post_update_hook', ctx.postUpdateHook, { args: [dir] }, log);
  const after = await localRefs(ctx.git, dir).catch(() => null);
  return { key: item.key, state: 'fetched', attempts, failures: 0, lastChecked: now, lastChanged: now, ...(after ? { digest: mirrorDigest(after) } : {}) };
}

/** A step of the collection's work (collection.ts): a hint, so a failure is logged and the URL goes on without it. */
async function collectionStep<T>(ctx: SweepContext, log: Logger, fn: () => Promise<T>): Promise<T | null> {
  if (!ctx.collection) return null;
  try {
    return await fn();
  } catch (err) {
    log.warn({ action: 'collection' }, `objects from the collection: ${describeError(err)}`);
    return null;
  }
}
