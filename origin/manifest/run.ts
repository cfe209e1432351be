/**
 * grok-manifest's work: lock the manifest, read it, decide (plan.ts), inspect the repositories that
 * need it (inspect-targets.ts), build their entries (entry-builder.ts), write the manifest back
 * atomically when anything changed, then (-o) feed objstores. A path problem is reported and the
 * rest goes on.
 */
import { constants as fsConstants, promises as fsp } from 'node:fs';
import { setTimeout as sleepMs } from 'node:timers/promises';
import os from 'node:os';
import path from 'node:path';
import { describeError, GrokError } from '../../shared/errors.js';
import type { Git } from '../../shared/git/index.js';
import { withLock, lockPathFor, removeOrphanLocks } from '../../shared/lock.js';
import type { Logger } from '../../shared/log.js';
import type { Manifest } from '../../shared/manifest/entry.js';
import { readManifestFile, writeManifestFile, DEFAULT_MAX_MANIFEST_BYTES } from '../../shared/manifest/io.js';
import { recoverJournal } from '../../shared/manifest/journal.js';
import type { Progress } from '../../shared/progress.js';
import { discoverRepos, isIgnored } from '../../shared/repo/discover.js';
import { removeEntries, resolveSymlinkReferences } from './entry-builder.js';
import { entryUpdates } from './entry-updates.js';
import { fastUpdate, type FastUpdateResult } from './fast-update.js';
import { inspectTargets, type Outcome } from './inspect-targets.js';
import { fetchIntoObjstore } from './objstore-fetch.js';
import { givenTargets, needsWalk, planManifest, type GivenPath, type ManifestPlan, type Target } from './plan.js';
import { keyForRemoval, resolveGivenPath } from './resolve-paths.js';
import { liveSymlinks } from './live-symlinks.js';

export interface ManifestRunOptions {
  readonly toplevel: string;
  readonly manifestFile: string;
  readonly paths: readonly string[];
  readonly pretty: boolean;
  readonly useNow: boolean;
  readonly checkExportOk: boolean;
  readonly purge: boolean;
  readonly remove: boolean;
  readonly wait: boolean;
  readonly fetchObjstore: boolean;
  /** Start from an empty manifest when the existing one cannot be read (grokmirror did this silently). */
  readonly regenerate: boolean;
  readonly ignorePaths: readonly string[];
  readonly ignoreRefs: readonly string[];
  readonly maxBytes?: number;
  readonly concurrency?: number;
}

export interface ManifestDeps {
  readonly git: Git;
  readonly log: Logger;
  /** Epoch milliseconds. */
  readonly now: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** A progress display over the repositories inspected (the CLI's, on a terminal). */
  readonly progress?: (total: number) => Progress;
}

export interface ManifestRunResult {
  readonly added: string[];
  readonly updated: string[];
  readonly unchanged: number;
  readonly removed: { key: string; why: string }[];
  readonly failed: { path: string; error: string }[];
  readonly written: boolean;
  readonly total: number;
}

async function realToplevel(dir: string): Promise<string> {
  let real: string;
  try {
    real = await fsp.realpath(dir);
    if (!(await fsp.stat(real)).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw new GrokError('GROK_ERR_TOPLEVEL', `toplevel ${dir} does not exist or is not a directory (${describeError(err)})`, { toplevel: dir });
  }
  // grokmirror refuses an unwritable toplevel too: each repo keeps its grokmirror.fingerprint there.
  await fsp.access(real, fsConstants.W_OK).catch(() => {
    throw new GrokError('GROK_ERR_TOPLEVEL', `toplevel ${real} is not writable (repositories keep grokmirror.fingerprint files)`, { toplevel: real });
  });
  return real;
}

async function checkManifestDir(file: string): Promise<void> {
  const dir = path.dirname(file);
  const st = await fsp.stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new GrokError('GROK_ERR_MANIFEST_DIR', `manifest directory ${dir} does not exist`, { file });
}

async function waitForFile(file: string, log: Logger, sleep: (ms: number) => Promise<void>): Promise<void> {
  for (let told = false; !(await fsp.stat(file).then(() => true, () => false)); told = true) {
    if (!told) log.info(`waiting for ${file} to appear`);
    await sleep(1000);
  }
}

async function resolvePaths(toplevel: string, opts: ManifestRunOptions, log: Logger, failed: ManifestRunResult['failed']): Promise<GivenPath[]> {
  const given: GivenPath[] = [];
  for (const p of opts.paths) {
    try {
      const g = opts.remove ? await keyForRemoval(toplevel, p) : await resolveGivenPath(toplevel, p);
      const where = g.kind === 'repo' ? g.path : g.target.path;
      if (!opts.remove && isIgnored(where, g.key, opts.ignorePaths)) {
        log.info({ repo: g.key }, `${g.key} matches an ignore glob; skipped`);
        continue;
      }
      given.push(g);
    } catch (err) {
      failed.push({ path: p, error: describeError(err) });
      log.error({ path: p }, describeError(err));
    }
  }
  return given;
}

/** The manifest as it is on disk; `fresh` when it has to be written whatever happens. */
async function readExisting(file: string, opts: ManifestRunOptions, log: Logger): Promise<{ existing: Manifest; fresh: boolean }> {
  try {
    const parsed = await readManifestFile(file, opts.maxBytes ?? DEFAULT_MAX_MANIFEST_BYTES);
    if (parsed === null) {
      log.info(`${file} not found; starting a new manifest`);
      return { existing: new Map(), fresh: true };
    }
    for (const r of parsed.rejected) log.warn({ repo: r.key }, `${file}: dropping entry ${JSON.stringify(r.key)}: ${r.why}`);
    return { existing: parsed.entries, fresh: parsed.rejected.length > 0 };
  } catch (err) {
    if (!opts.regenerate) throw err;
    log.warn(`${describeError(err)}; regenerating from a full walk as asked`);
    return { existing: new Map(), fresh: true };
  }
}

interface Applied {
  added: string[];
  updated: string[];
  unchanged: number;
  removed: { key: string; why: string }[];
  changed: boolean;
}

async function applyOutcomes(
  manifest: Manifest,
  plan: ManifestPlan,
  outcomes: Map<string, Outcome>,
  ctx: { toplevel: string; existing: Manifest; useNow: boolean; nowSec: number; log: Logger; failed: ManifestRunResult['failed'] },
): Promise<Applied> {
  const res: Applied = { added: [], updated: [], unchanged: 0, removed: [], changed: false };
  const removals = new Map(plan.remove);
  const updates = await entryUpdates(plan.inspect, outcomes, {
    toplevel: ctx.toplevel,
    useNow: ctx.useNow,
    nowSec: ctx.nowSec,
    log: ctx.log,
    oldEntry: (key) => ctx.existing.get(key),
    symlinksFor: async (t, old) => (plan.walkSymlinks ? plan.walkSymlinks.get(t.key) ?? [] : liveSymlinks(ctx.toplevel, t, old, plan.givenSymlinks.get(t.key) ?? [])),
  });
  for (const u of updates) {
    if (u.kind === 'failed') ctx.failed.push({ path: u.path, error: u.error });
    else if (u.kind === 'no-refs') {
      if (u.existed) removals.set(u.key, 'repository has no refs');
    } else {
      manifest.set(u.key, u.entry);
      if (u.kind === 'unchanged') res.unchanged++;
      else res[u.kind].push(u.key);
    }
  }
  const { removed, changed } = removeEntries(manifest, removals.keys());
  res.removed = removed.map((key) => ({ key, why: removals.get(key)! }));
  resolveSymlinkReferences(manifest);
  res.changed = changed || res.added.length > 0 || res.updated.length > 0;
  for (const r of res.removed) ctx.log.info({ repo: r.key, action: 'remove' }, `removed ${r.key} (${r.why})`);
  for (const k of res.added) ctx.log.info({ repo: k, action: 'add' }, `added ${k}`);
  for (const k of res.updated) ctx.log.info({ repo: k, action: 'update' }, `updated ${k}`);
  return res;
}

/**
 * -o: new objects of the repositories just listed go to their objstores. Only of those the manifest
 * now lists: one it leaves out (ignored, not exported) is not served, and its objects must not reach
 * an objstore whose siblings are (grok-fsck takes such a member out at its next run).
 */
async function feedObjstores(git: Git, log: Logger, outcomes: Map<string, Outcome>, listed: ReadonlySet<string>): Promise<void> {
  for (const [key, o] of outcomes) {
    if (!o || 'failed' in o || !o.alternate?.objstoreMembers || !listed.has(key)) continue;
    await fetchIntoObjstore(git, log, o.path, o.alternate.repo).catch((err: unknown) =>
      log.warn({ repo: o.path }, `objstore fetch for ${o.path} failed: ${describeError(err)}`),
    );
  }
}

const isListed = (o: Outcome | undefined): boolean => !!o && !('failed' in o);

/** The hook case on an existing manifest: splice the named entries in (fast-update.ts), when it applies. */
function hookFastPath(
  given: readonly GivenPath[],
  targets: readonly Target[],
  outcomes: Map<string, Outcome>,
  ctx: { opts: ManifestRunOptions; manifestFile: string; toplevel: string; nowSec: number; log: Logger },
): Promise<FastUpdateResult | null> {
  const { opts, toplevel } = ctx;
  const exportable = !opts.checkExportOk || targets.every((t) => t.exportOk);
  if (opts.regenerate || !exportable || given.some((g) => g.kind !== 'repo')) return Promise.resolve(null);
  return fastUpdate(targets, outcomes, {
    file: ctx.manifestFile,
    maxBytes: opts.maxBytes ?? DEFAULT_MAX_MANIFEST_BYTES,
    pretty: opts.pretty,
    toplevel,
    useNow: opts.useNow,
    nowSec: ctx.nowSec,
    log: ctx.log,
    symlinksFor: (t, old) => liveSymlinks(toplevel, t, old, []),
  });
}

export async function runManifest(opts: ManifestRunOptions, deps: ManifestDeps): Promise<ManifestRunResult> {
  const { git, log } = deps;
  const sleep = deps.sleep ?? ((ms: number) => sleepMs(ms));
  const toplevel = await realToplevel(opts.toplevel);
  const manifestFile = path.resolve(opts.manifestFile);
  await checkManifestDir(manifestFile);
  const failed: ManifestRunResult['failed'] = [];
  const given = await resolvePaths(toplevel, opts, log, failed);
  if (opts.wait && opts.paths.length > 0) await waitForFile(manifestFile, log, sleep);
  // Every named path failed: nothing to do, and a full walk is not what was asked for.
  if (opts.paths.length > 0 && given.length === 0) {
    return { added: [], updated: [], unchanged: 0, removed: [], failed, written: false, total: 0 };
  }
  const planOpts = { remove: opts.remove, purge: opts.purge, checkExportOk: opts.checkExportOk };
  const inspectOpts = { ignoreRefs: opts.ignoreRefs, concurrency: opts.concurrency ?? Math.max(4, os.availableParallelism() * 2) };

  let outcomes = new Map<string, Outcome>();
  const listed = new Set<string>();
  const result = await withLock(lockPathFor(manifestFile), async () => {
    // A grok-origin that died (or a machine that lost power) before its last writes were durable.
    await recoverJournal(manifestFile, { pretty: opts.pretty, maxBytes: opts.maxBytes ?? DEFAULT_MAX_MANIFEST_BYTES, warn: (m) => log.warn(m) });
    // Path mode (the hook): inspect before the manifest is in memory. Starting git from a small
    // process is cheap; forking one that holds a 100k-entry manifest costs hundreds of ms.
    const early = given.length > 0 && !opts.remove && !opts.purge;
    if (early) {
      const targets = givenTargets(given);
      outcomes = await inspectTargets(git, log, targets, { ...inspectOpts, old: new Map(), useNow: opts.useNow });
      const fast = await hookFastPath(given, targets, outcomes, { opts, manifestFile, toplevel, nowSec: Math.floor(deps.now() / 1000), log });
      if (fast) {
        // The fast path lists every target it inspected (not ignored, exportable), as it lists them.
        for (const t of targets) if (isListed(outcomes.get(t.key))) listed.add(t.key);
        return { ...fast, removed: [], failed: [...failed, ...fast.failed] };
      }
    }
    const { existing, fresh } = await readExisting(manifestFile, opts, log);
    const useNow = opts.useNow && existing.size > 0;
    let walk = null;
    if (needsWalk(existing, given, planOpts)) {
      walk = await discoverRepos(toplevel, { ignore: opts.ignorePaths });
      for (const w of walk.warnings) log.warn(w);
      for (const f of await removeOrphanLocks(walk.orphanLocks)) log.info(`removed ${f}: the lock file of a repository that is gone`);
      log.info(`found ${walk.repos.length} repositories under ${toplevel}`);
    }
    const plan = planManifest(existing, given, walk, planOpts);
    // -n was asked but the manifest was empty: commit dates are wanted after all.
    const stale = early && opts.useNow && !useNow;
    const missing = plan.inspect.filter((t) => stale || !outcomes.has(t.key));
    if (missing.length > 0) {
      const progress = missing.length > 1 ? deps.progress?.(missing.length) : undefined;
      const more = await inspectTargets(git, log, missing, { ...inspectOpts, old: existing, useNow, ...(progress ? { onInspected: () => progress.tick() } : {}) });
      progress?.end();
      for (const [k, v] of more) outcomes.set(k, v);
    }
    const manifest: Manifest = new Map(existing);
    const applied = await applyOutcomes(manifest, plan, outcomes, { toplevel, existing, useNow, nowSec: Math.floor(deps.now() / 1000), log, failed });
    const written = fresh || applied.changed;
    if (written) await writeManifestFile(manifestFile, manifest, { pretty: opts.pretty });
    else log.info(`${manifestFile} unchanged; not rewritten`);
    const { changed: _changed, ...counts } = applied;
    for (const k of outcomes.keys()) if (manifest.has(k)) listed.add(k);
    return { ...counts, failed, written, total: manifest.size };
  });
  if (opts.fetchObjstore) await feedObjstores(git, log, outcomes, listed);
  return result;
}

