/**
 * Reads the facts of many repositories for grok-manifest, cheaply: refs come from the ref files
 * (no process), a repo whose fingerprint did not change keeps its `modified`, and the commit dates
 * that are needed are read in batches (repo/commit-dates.ts). Whatever the fast path is unsure of
 * goes through `git for-each-ref`, one repository at a time, as the authoritative answer.
 */
import { describeError } from '../../shared/errors.js';
import { readRefFiles, type FileRef, type Git } from '../../shared/git/index.js';
import type { Logger } from '../../shared/log.js';
import type { Manifest } from '../../shared/manifest/entry.js';
import { mapPool } from '../../shared/pool.js';
import { newestCommitDates } from '../../shared/repo/commit-dates.js';
import { FINGERPRINT_FILE, writeFingerprintFile } from '../../shared/repo/fingerprint-file.js';
import { readRepoMeta, type RepoFacts, type RepoMeta } from '../../shared/repo/inspect.js';
import { fingerprintOf, readRefStateWithGit } from '../../shared/repo/refs.js';
import type { Target } from './plan.js';

/** Facts, null for a repository without refs, or the reason it could not be read. */
export type Outcome = RepoFacts | null | { readonly failed: string };

export interface InspectOptions {
  readonly ignoreRefs: readonly string[];
  /** The manifest as it was: an unchanged fingerprint keeps the stored `modified`. */
  readonly old: Pick<Manifest, 'get'>;
  /** `-n`: dates are not needed at all. */
  readonly useNow: boolean;
  readonly concurrency: number;
  /** Called as each target is taken up (for a progress display). */
  readonly onInspected?: () => void;
}

interface Pending {
  readonly target: Target;
  readonly meta: RepoMeta;
  readonly fingerprint: string;
  readonly refs: readonly FileRef[];
}

export async function inspectTargets(git: Git, log: Logger, targets: readonly Target[], opts: InspectOptions): Promise<Map<string, Outcome>> {
  const out = new Map<string, Outcome>();
  const needDates: Pending[] = [];
  const viaGit: Target[] = [];

  await mapPool(targets, opts.concurrency, async (t) => {
    opts.onInspected?.();
    try {
      const files = readRefFiles(t.path);
      const meta = await readRepoMeta(git, t.path);
      if (!files.ok) {
        log.debug({ repo: t.key }, `${t.key}: reading refs through git (${files.why})`);
        viaGit.push(t);
        return;
      }
      if (files.refs.length === 0) {
        out.set(t.key, null);
        return;
      }
      const fingerprint = fingerprintOf(files.refs, opts.ignoreRefs);
      const old = opts.old.get(t.key);
      const refCount = files.refs.length;
      if (opts.useNow || old?.fingerprint === fingerprint) {
        // Same refs, same newest commit: keep the stored date (with -n it is replaced anyway).
        out.set(t.key, { path: t.path, ...meta, refs: { fingerprint, newest: old?.modified ?? null, refCount } });
        return;
      }
      needDates.push({ target: t, meta, fingerprint, refs: files.refs });
    } catch (err) {
      out.set(t.key, { failed: describeError(err) });
    }
  });

  const dates = await newestCommitDates(
    git,
    needDates.map((p) => ({ gitDir: p.target.path, oids: [...new Set(p.refs.map((r) => r.oid))] })),
  ).catch((err: unknown) => {
    log.debug(`batched commit dates failed (${describeError(err)}); asking git per repository`);
    return new Map<string, number | null>();
  });
  for (const p of needDates) {
    if (!dates.has(p.target.path)) {
      viaGit.push(p.target);
      continue;
    }
    out.set(p.target.key, {
      path: p.target.path,
      ...p.meta,
      refs: { fingerprint: p.fingerprint, newest: dates.get(p.target.path)!, refCount: p.refs.length },
    });
  }

  await mapPool(viaGit, opts.concurrency, async (t) => {
    try {
      const [refs, meta] = await Promise.all([readRefStateWithGit(git, t.path, opts.ignoreRefs), readRepoMeta(git, t.path)]);
      out.set(t.key, refs ? { path: t.path, ...meta, refs } : null);
    } catch (err) {
      out.set(t.key, { failed: describeError(err) });
    }
  });

  // The cache file is a convenience for pull/fsck; failing to write it does not fail the entry.
  for (const [key, o] of out) {
    if (!o || 'failed' in o) continue;
    try {
      writeFingerprintFile(o.path, o.refs.fingerprint);
    } catch (err) {
      log.warn({ repo: key }, `${key}: cannot update ${FINGERPRINT_FILE}: ${describeError(err)}`);
    }
  }
  return out;
}
