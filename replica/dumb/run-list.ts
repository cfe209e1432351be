/**
 * List mode: a file of upstream URLs mirrored as bare repositories under a toplevel. One sweep brings
 * the state database's rows in line with the list, works through the URLs that are due (schedule.ts)
 * with a bounded pool (and a per-host limit), writes the rows that changed (row-update.ts), then
 * rebuilds the manifest with grok-manifest's own code so that grok-origin can serve the set and
 * grok-pull replicate it. The database file's lock keeps two sweeps of the same list apart.
 */
import { createHash } from 'node:crypto';
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
import { rowAfter, type UrlRow } from './row-update.js';
import type { Schedule } from './schedule.js';
import type { RepoState, StateEntry } from './state.js';
import { openStateDb } from './state-db.js';
import { Collection } from './collection.js';
import { openSqliteTipIndex } from './tip-index.js';
import { sweepOne } from './sweep.js';
import { parseUrlList } from './url-list.js';
import { redactUrls } from '../../shared/safe-text.js';

export interface ListRunOptions {
  readonly listFile: string;
  readonly toplevel: string;
  readonly stateFile: string;
  /** A JSON state of earlier versions to take into a new database, or null. */
  readonly legacyStateFile: string | null;
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
  /** The rows that changed are written at most this often during a sweep, so a crash loses little. */
  readonly checkpointMs: number;
  readonly schedule: Schedule;
  /** Check every URL, due or not. */
  readonly all: boolean;
  /** Objects from the whole collection (collection.ts): the objstore directory; null or absent for none. */
  readonly objstoreDir?: string | null;
}

export interface ListRunDeps {
  readonly git: Git;
  readonly log: Logger;
  /** Epoch milliseconds. */
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface ListRunResult {
  /** This sweep's outcomes (pending: due and not reached); invalid counts refused URLs too. */
  readonly counts: Record<RepoState, number>;
  /** Listed URLs not due this sweep. */
  readonly notDue: number;
  /** Rows of the state database this sweep wrote. */
  readonly rowsWritten: number;
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
    const db = await openStateDb(stateFile);
    const tips = opts.objstoreDir ? openSqliteTipIndex(stateFile) : null;
    try {
      if (opts.legacyStateFile !== null) {
        const n = await db.importJson(opts.legacyStateFile);
        if (n) log.info(`took ${n} URLs from the JSON state ${opts.legacyStateFile} into the state database ${stateFile}`);
      }
      db.syncList(listDigest(list.items, list.refused), list.items, list.refused);
      const started = deps.now();
      // Rounds tile time: this one covers (the last finished sweep's start, now].
      const due = db.due({ from: Number(db.meta('sweep_from') ?? 0), to: started, all: opts.all }, opts.schedule);
      const byUrl = new Map(list.items.map((it) => [redactUrls(it.url), it]));
      const counts: Record<RepoState, number> = { pending: due.length, fetched: 0, unchanged: 0, not_found: 0, auth_required: 0, failed: 0, invalid: list.refused.length };
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
        collection: tips && opts.objstoreDir ? new Collection({ git, log, objstoreDir: opts.objstoreDir, index: tips }) : null,
      };
      log.info(`sweeping ${due.length} of ${list.items.length} upstreams that are due (${opts.jobs} at once, ${opts.perHost} per host)`);
      // Changed rows are written as the sweep goes (one transaction at a time, at most every
      // checkpointMs), so a sweep killed half-way keeps what it learnt; rows it never reached stay due.
      const dirty: UrlRow[] = [];
      let rowsWritten = 0;
      const flush = () => (rowsWritten += db.write(dirty.splice(0)));
      const checkpoint = new Checkpoint(async () => void flush(), opts.checkpointMs, deps.now);
      try {
        await mapPool(due, opts.jobs, async (row) => {
          const it = byUrl.get(row.url);
          if (!it) return;
          const out = await sweepOne(it, entryOf(row), ctx);
          counts.pending--;
          counts[out.state]++;
          const next = rowAfter(row, out, deps.now(), opts.schedule);
          if (next) dirty.push(next);
          checkpoint.poke();
        });
      } finally {
        await probe.close();
        await checkpoint.settle();
        flush();
      }
      db.setMeta('sweep_from', String(started));
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
    return { counts, notDue: list.items.length - due.length, rowsWritten, probes: { ...probe.counts }, manifestWritten };
    } finally {
      tips?.close();
      db.close();
    }
  });
}

/** What sweepOne needs of a row. */
function entryOf(r: UrlRow): StateEntry {
  return {
    state: r.state,
    attempts: r.attempts,
    failures: r.failures,
    ...(r.key !== null ? { key: r.key } : {}),
    ...(r.lastError !== null ? { lastError: r.lastError } : {}),
    ...(r.lastChanged !== null ? { lastChanged: Math.floor(r.lastChanged / 1000) } : {}),
    ...(r.digest !== null ? { digest: r.digest } : {}),
  };
}

/** The list as the database last saw it: an unchanged list skips the sync (no write). */
function listDigest(items: readonly { url: string; key: string }[], refused: readonly { url: string; why: string }[]): string {
  const h = createHash('sha256');
  for (const it of items) h.update(`${redactUrls(it.url)}\t${it.key}\n`);
  for (const r of refused) h.update(`!${r.url}\t${r.why}\n`);
  return h.digest('hex');
}
