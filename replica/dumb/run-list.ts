/**
 * List mode: a file of upstream URLs mirrored as bare repositories under a toplevel. One sweep reads
 * the list and the state, works through the URLs with a bounded pool (and a per-host limit), records
 * every URL's outcome in the state file, then rebuilds the manifest with grok-manifest's own code so
 * that grok-origin can serve the set and grok-pull replicate it. The state file's lock keeps two
 * sweeps of the same list apart.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { GrokError } from '../../shared/errors.js';
import type { Git } from '../../shared/git/index.js';
import { lockPathFor, withLock } from '../../shared/lock.js';
import type { Logger } from '../../shared/log.js';
import { keyToPath } from '../../shared/manifest/keys.js';
import { mapPool } from '../../shared/pool.js';
import { isBareRepoSync } from '../../shared/repo/bare.js';
import { runManifest } from '../../origin/manifest/run.js';
import { HostLimiter } from './host-limiter.js';
import { Checkpoint } from './checkpoint.js';
import { refProbe, type RefProbeMode } from './ref-probe.js';
import { countStates, readState, writeState, type RepoState, type SweepState } from './state.js';
import { sweepOne } from './sweep.js';
import { parseUrlList } from './url-list.js';
import { redactUrls } from '../../shared/safe-text.js';

export interface ListRunOptions {
  readonly listFile: string;
  readonly toplevel: string;
  readonly stateFile: string;
  readonly manifestFile: string | null;
  readonly jobs: number;
  readonly perHost: number;
  readonly attempts: number;
  readonly backoffMs: number;
  readonly lsRemoteTimeoutMs: number;
  readonly postUpdateHook: readonly string[];
  readonly detect: boolean;
  readonly allowFile: boolean;
  readonly refProbe: RefProbeMode;
  /** The state file is rewritten at most this often during a sweep, so a crash loses little. */
  readonly checkpointMs: number;
}

export interface ListRunDeps {
  readonly git: Git;
  readonly log: Logger;
  /** Epoch milliseconds. */
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface ListRunResult {
  readonly counts: Record<RepoState, number>;
  /** How the refs were asked for: one HTTP request, or git ls-remote. */
  readonly probes: { readonly http: number; readonly git: number };
  readonly manifestWritten: boolean;
}

async function readList(file: string): Promise<string> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new GrokError('GROK_ERR_USAGE', `cannot read the URL list ${file}: ${(err as Error).message}`, { file });
  }
}

async function checkToplevel(dir: string): Promise<string> {
  const st = await fsp.stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new GrokError('GROK_ERR_TOPLEVEL', `toplevel ${dir} does not exist or is not a directory`, { toplevel: dir });
  return fsp.realpath(dir);
}

export async function runList(opts: ListRunOptions, deps: ListRunDeps): Promise<ListRunResult> {
  const { git, log } = deps;
  const toplevel = await checkToplevel(opts.toplevel);
  const list = parseUrlList(await readList(opts.listFile), { allowFile: opts.allowFile, isRepo: (key) => isBareRepoSync(keyToPath(toplevel, key)) });
  for (const r of list.refused) log.warn(`${opts.listFile}: skipping ${JSON.stringify(r.url)}: it ${r.why}`);
  const stateFile = path.resolve(opts.stateFile);
  return withLock(lockPathFor(stateFile), async () => {
    const old = await readState(stateFile);
    const state: SweepState = { version: 1, repos: Object.create(null) as SweepState['repos'] };
    for (const r of list.refused) state.repos[r.url] = { state: 'invalid', attempts: 0, failures: 0, lastError: r.why };
    // The record is keyed by the URL as it may be shown: credentials in a listed URL never reach it.
    const shown = (it: { url: string }) => redactUrls(it.url);
    // Pending until this sweep reaches them: a sweep cut short leaves them so.
    for (const it of list.items) state.repos[shown(it)] = { ...old.repos[shown(it)], key: it.key, state: 'pending', attempts: 0, failures: old.repos[shown(it)]?.failures ?? 0 };
    const probe = await refProbe(opts.refProbe, { git, log, timeoutMs: opts.lsRemoteTimeoutMs, connectionsPerHost: opts.perHost });
    const ctx = {
      toplevel,
      git,
      log,
      limiter: new HostLimiter(opts.perHost),
      retry: { attempts: opts.attempts, baseDelayMs: opts.backoffMs, sleep: deps.sleep },
      remoteRefs: probe.remoteRefs,
      postUpdateHook: opts.postUpdateHook,
      detect: opts.detect,
      repoCache: new Map<string, boolean>(),
      nowSec: () => Math.floor(deps.now() / 1000),
    };
    log.info(`sweeping ${list.items.length} upstreams (${opts.jobs} at once, ${opts.perHost} per host)`);
    // The record is rewritten as the sweep goes (one write at a time, at most every checkpointMs), so
    // a sweep killed half-way keeps what it learnt; URLs it never reached stay pending.
    const checkpoint = new Checkpoint(() => writeState(stateFile, state), opts.checkpointMs, deps.now);
    try {
      await mapPool(list.items, opts.jobs, async (it) => {
        state.repos[shown(it)] = await sweepOne(it, old.repos[shown(it)], ctx);
        checkpoint.poke();
      });
    } finally {
      await probe.close();
      await checkpoint.settle();
    }
    await writeState(stateFile, state);
    let manifestWritten = false;
    if (opts.manifestFile) {
      const res = await runManifest(
        {
          toplevel,
          manifestFile: opts.manifestFile,
          paths: [],
          pretty: false,
          useNow: false,
          checkExportOk: false,
          purge: false,
          remove: false,
          wait: false,
          fetchObjstore: false,
          regenerate: true,
          ignorePaths: [],
          ignoreRefs: [],
        },
        { git, log, now: deps.now },
      );
      manifestWritten = res.written;
    }
    return { counts: countStates(state), probes: { ...probe.counts }, manifestWritten };
  });
}
