/**
 * grok-manifest's work: lock the manifest, read it, decide (plan.ts), inspect the repositories that
 * need it in parallel, build their entries (entry-builder.ts), write the manifest back atomically when
 * anything changed, then (-o) feed objstores. Every path problem is reported and the rest goes on.
 */
import { constants as fsConstants, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeError, GrokError } from '../../shared/errors.js';
import type { Git } from '../../shared/git/index.js';
import { withLock, lockPathFor } from '../../shared/lock.js';
import type { Logger } from '../../shared/log.js';
import type { Manifest, ManifestEntry } from '../../shared/manifest/entry.js';
import { readManifestFile, writeManifestFile, DEFAULT_MAX_MANIFEST_BYTES } from '../../shared/manifest/io.js';
import { keyToPath } from '../../shared/manifest/keys.js';
import { mapPool } from '../../shared/pool.js';
import { discoverRepos, isIgnored, resolveRepoSymlink, type Discovery } from '../../shared/repo/discover.js';
import { FINGERPRINT_FILE, writeFingerprintFile } from '../../shared/repo/fingerprint-file.js';
import { inspectRepo, type RepoFacts } from '../../shared/repo/inspect.js';
import { buildEntry, removeEntries, resolveSymlinkReferences, sameEntry } from './entry-builder.js';
import { fetchIntoObjstore } from './objstore-fetch.js';
import { needsWalk, planManifest, type GivenPath, type Target } from './plan.js';
import { keyForRemoval, resolveGivenPath } from './resolve-paths.js';

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
  const dir = path.dirname(path.resolve(file));
  const st = await fsp.stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new GrokError('GROK_ERR_MANIFEST_DIR', `manifest directory ${dir} does not exist`, { file });
}

async function waitForFile(file: string, log: Logger, sleep: (ms: number) => Promise<void>): Promise<void> {
  let told = false;
  while (!(await fsp.stat(file).then(() => true, () => false))) {
    if (!told) log.info(`waiting for ${file} to appear`);
    told = true;
    await sleep(1000);
  }
}

/** Keeps a path-mode entry's old symlinks that still point at it, plus the ones named now. */
async function liveSymlinks(toplevel: string, target: Target, old: ManifestEntry | undefined, given: readonly string[]): Promise<string[]> {
  const keep = new Set(given);
  for (const s of old?.symlinks ?? []) {
    if (keep.has(s)) continue;
    const res = await resolveRepoSymlink(toplevel, keyToPath(toplevel, s)).catch(() => ({ why: 'error' }));
    if ('target' in res && res.target === target.path) keep.add(s);
  }
  return [...keep];
}

export async function runManifest(opts: ManifestRunOptions, deps: ManifestDeps): Promise<ManifestRunResult> {
  const { git, log } = deps;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const toplevel = await realToplevel(opts.toplevel);
  const manifestFile = path.resolve(opts.manifestFile);
  await checkManifestDir(manifestFile);
  const failed: { path: string; error: string }[] = [];
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
  if (opts.wait && opts.paths.length > 0) await waitForFile(manifestFile, log, sleep);
  // Every named path failed: nothing to do, and a full walk is not what was asked for.
  if (opts.paths.length > 0 && given.length === 0) {
    return { added: [], updated: [], unchanged: 0, removed: [], failed, written: false, total: 0 };
  }

  return withLock(lockPathFor(manifestFile), async () => {
    let existing: Manifest = new Map();
    let mustWrite = false;
    try {
      const parsed = await readManifestFile(manifestFile, opts.maxBytes ?? DEFAULT_MAX_MANIFEST_BYTES);
      if (parsed === null) {
        mustWrite = true;
        log.info(`${manifestFile} not found; starting a new manifest`);
      } else {
        existing = parsed.entries;
        for (const r of parsed.rejected) log.warn({ repo: r.key }, `${manifestFile}: dropping entry ${JSON.stringify(r.key)}: ${r.why}`);
        mustWrite = parsed.rejected.length > 0;
      }
    } catch (err) {
      if (!opts.regenerate) throw err;
      log.warn(`${describeError(err)}; regenerating from a full walk as asked`);
      mustWrite = true;
    }
    const useNow = opts.useNow && existing.size > 0;
    const planOpts = { remove: opts.remove, purge: opts.purge, checkExportOk: opts.checkExportOk };
    let walk: Discovery | null = null;
    if (needsWalk(existing, given, planOpts)) {
      walk = await discoverRepos(toplevel, { ignore: opts.ignorePaths });
      for (const w of walk.warnings) log.warn(w);
      log.info(`found ${walk.repos.length} repositories under ${toplevel}`);
    }
    const plan = planManifest(existing, given, walk, planOpts);
    const manifest: Manifest = new Map(existing);
    const added: string[] = [];
    const updated: string[] = [];
    let unchanged = 0;
    const removals = new Map(plan.remove);
    const nowSec = Math.floor(deps.now() / 1000);
    const limit = opts.concurrency ?? Math.max(4, os.availableParallelism() * 2);

    const facts = await mapPool(plan.inspect, limit, async (t): Promise<RepoFacts | null | 'failed'> => {
      try {
        const f = await inspectRepo(git, t.path, opts.ignoreRefs);
        if (f) {
          // The cache file is a convenience for pull/fsck; failing to write it does not fail the entry.
          await writeFingerprintFile(t.path, f.refs.fingerprint).catch((err: unknown) =>
            log.warn({ repo: t.key }, `${t.key}: cannot update ${FINGERPRINT_FILE}: ${describeError(err)}`),
          );
        }
        return f;
      } catch (err) {
        failed.push({ path: t.path, error: describeError(err) });
        log.error({ repo: t.key, err }, `${t.key}: ${describeError(err)}`);
        return 'failed';
      }
    });
    for (let i = 0; i < plan.inspect.length; i++) {
      const t = plan.inspect[i]!;
      const f = facts[i];
      if (f === 'failed' || f === undefined) continue;
      if (f === null) {
        if (existing.has(t.key)) removals.set(t.key, 'repository has no refs');
        else log.info({ repo: t.key }, `${t.key}: no refs; not listed`);
        continue;
      }
      const old = existing.get(t.key);
      const symlinks = plan.walkSymlinks
        ? plan.walkSymlinks.get(t.key) ?? []
        : await liveSymlinks(toplevel, t, old, plan.givenSymlinks.get(t.key) ?? []);
      const built = buildEntry(f, { toplevel, key: t.key, old, useNow, now: nowSec, symlinks });
      for (const n of built.notes) log.warn({ repo: t.key }, `${t.key}: ${n}`);
      manifest.set(t.key, built.entry);
      if (!old) added.push(t.key);
      else if (!sameEntry(old, built.entry)) updated.push(t.key);
      else unchanged++;
    }
    const { removed: removedKeys, changed: removalChanged } = removeEntries(manifest, removals.keys());
    const removed = removedKeys.map((key) => ({ key, why: removals.get(key)! }));
    for (const r of removed) log.info({ repo: r.key, action: 'remove' }, `removed ${r.key} (${r.why})`);
    for (const k of added) log.info({ repo: k, action: 'add' }, `added ${k}`);
    for (const k of updated) log.info({ repo: k, action: 'update' }, `updated ${k}`);
    resolveSymlinkReferences(manifest);

    const written = mustWrite || removalChanged || added.length > 0 || updated.length > 0;
    if (written) await writeManifestFile(manifestFile, manifest, { pretty: opts.pretty });
    else log.info(`${manifestFile} unchanged; not rewritten`);
    return { added, updated, unchanged, removed, failed, written, total: manifest.size, facts };
  }).then(async (res) => {
    if (opts.fetchObjstore) {
      for (const f of res.facts) {
        if (!f || f === 'failed' || !f.alternate?.objstoreMembers) continue;
        try {
          await fetchIntoObjstore(git, log, f.path, f.alternate.repo);
        } catch (err) {
          log.warn({ repo: f.path }, `objstore fetch for ${f.path} failed: ${describeError(err)}`);
        }
      }
    }
    const { facts: _facts, ...rest } = res;
    return rest;
  });
}
