/**
 * List mode's work on one URL: ask the remote for its refs (ls-remote), compare with the mirror
 * (plan.ts), and clone or fetch only when they differ. Network steps go through the per-host limiter
 * and are retried on transient failures; the result is the URL's new state entry, never a throw.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describeError } from '../../shared/errors.js';
import { mirrorFetch, untrusted, type Git } from '../../shared/git/index.js';
import type { Logger } from '../../shared/log.js';
import { lockPathFor, withLock } from '../../shared/lock.js';
import { keyToPath } from '../../shared/manifest/keys.js';
import { isBareRepo } from '../../shared/repo/bare.js';
import { removeWorkLeftovers, workPath } from '../../shared/repo/work-names.js';
import { runHooks } from '../execute/hooks.js';
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
}

async function cloneMirror(ctx: SweepContext, url: string, dir: string): Promise<void> {
  await fsp.mkdir(path.dirname(dir), { recursive: true });
  // Temp clones a killed sweep left (work-names.ts: discovery and manifest walks skip them). The
  // repository's lock is held here, so none is a clone in the making.
  await removeWorkLeftovers(dir, 'init');
  const tmp = workPath(dir, 'init');
  try {
    await ctx.git.run({ args: ['clone', '--mirror', '-q', untrusted(url), untrusted(tmp)] });
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
  try {
    const misplaced = await placeProblem(ctx.toplevel, item.key, ctx.repoCache);
    if (misplaced) {
      log.error({ action: 'check' }, `${redactUrls(item.url)}: ${misplaced}; refused`);
      return { ...prev, key: item.key, state: 'invalid', attempts: 0, failures: prev?.failures ?? 0, lastError: misplaced, lastChecked: now };
    }
    let remoteRefs: RefMap | null = null;
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
    return { key: item.key, state: 'unchanged', attempts, failures: 0, lastChecked: now, ...(local ? { digest: mirrorDigest(local) } : {}), ...(prev?.lastChanged ? { lastChanged: prev.lastChanged } : {}) };
  }
  // The repository's lock (grok-pull's and grok-fsck's too) keeps two workers sharing a toplevel,
  // and a repack, off one mirror at a time. A clone that another worker made while this one waited
  // for the lock is brought up to date instead.
  let done: Attempted<unknown>;
  try {
    done = await withLock(
      lockPathFor(dir),
      async () => {
        if (action === 'clone' && (await isBareRepo(dir))) action = 'fetch';
        return net<unknown>(() => (action === 'clone' ? cloneMirror(ctx, item.url, dir) : ctx.git.run(mirrorFetch(dir, 'origin', { forcedRefspecs: true }))));
      },
      { timeoutMs: REPO_LOCK_WAIT_MS },
    );
  } catch (err) {
    const error = describeError(err);
    log.warn({ action }, `${item.key}: ${error}`);
    return { ...prev, key: item.key, state: 'failed', attempts, failures: (prev?.failures ?? 0) + 1, lastError: error, lastChecked: now };
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
