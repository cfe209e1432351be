/**
 * List mode: a file of upstream URLs mirrored as bare repositories under a toplevel. One sweep brings
 * the state database's rows in line with the list, works through the URLs that are due (schedule.ts)
 * with a bounded pool (and a per-host limit), writes the rows that changed (row-update.ts), then
 * rebuilds the manifest with grok-manifest's own code so that grok-origin can serve the set and
 * grok-pull replicate it. The URLs are checked by a worker over leases (worker.ts): with SQLite the
 * due list in one process, the database file's lock keeping two sweeps of one list apart; with
 * PostgreSQL batches of it claimed, beside other workers, from the shards this toplevel holds.
 */
import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { GrokError } from '../../shared/errors.js';
import type { Git } from '../../shared/git/index.js';
import { lockPathFor, withLock } from '../../shared/lock.js';
import type { Logger } from '../../shared/log.js';
import { keyToPath } from '../../shared/manifest/keys.js';
import { isBareRepoSync } from '../../shared/repo/bare.js';
import { runManifest } from '../../origin/manifest/run.js';
import { HostLimiter } from './host-limiter.js';
import { refProbe, type RefProbeMode } from './ref-probe.js';
import { pgLeases } from './pg-lease.js';
import { openPgState } from './pg-state.js';
import { pgTipIndex, toplevelId } from './pg-tips.js';
import { rowAfter, type UrlRow } from './row-update.js';
import type { Schedule } from './schedule.js';
import type { RepoState, StateEntry } from './state.js';
import { dueRows, openStateDb } from './state-db.js';
import { Collection } from './collection.js';
import { openSqliteTipIndex, type TipIndex } from './tip-index.js';
import { isPostgresUrl, type StateStore } from './state-store.js';
import { SHARD_COUNT, toplevelShards } from './shards.js';
import { sweepOne } from './sweep.js';
import { parseUrlList, type ParsedList } from './url-list.js';
import { localLeases, runWorker, type LeaseSource, type WorkerStats } from './worker.js';
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
  /** With a postgres:// state: this worker's part of the fleet. */
  readonly fleet?: {
    /** --shards as given, or null: the toplevel's shard file, else every shard (shards.ts). */
    readonly shards: string | null;
    readonly leaseMs: number;
    /** URLs per lease. */
    readonly batch: number;
  };
  /** Due rows read from the database at a time (default DUE_PAGE_ROWS); one process's batches too. */
  readonly duePageRows?: number;
  /** Objects from the whole collection (collection.ts): the objstore directory; null or absent for none. */
  readonly objstoreDir?: string | null;
}

/** A page of due rows: memory for a few thousand rows, and a query per page that costs little beside the sweep's probes. */
export const DUE_PAGE_ROWS = 2000;

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
  /** A fleet worker's leases: taken, taken over, lost. */
  readonly fleet?: WorkerStats;
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
  const toplevel = await checkToplevel(opts.toplevel);
  const list = parseUrlList(await readList(opts.listFile), { allowFile: opts.allowFile, isRepo: (key) => isBareRepoSync(keyToPath(toplevel, key)) });
  for (const r of list.refused) deps.log.warn(`${opts.listFile}: skipping ${JSON.stringify(r.url)}: it ${r.why}`);
  if (isPostgresUrl(opts.stateFile)) {
    const shards = toplevelShards(toplevel, opts.fleet?.shards ?? null) ?? Array.from({ length: SHARD_COUNT }, (_, i) => i);
    const store = await openPgState(opts.stateFile);
    try {
      // Rows of this toplevel only (pg-tips.ts): another machine's mirrors look gone from here.
      const tips = opts.objstoreDir ? pgTipIndex(store.conn, await toplevelId(toplevel)) : null;
      return await sweep(store, toplevel, list, opts, deps, tips, async () => {
        const owner = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
        const leases = await pgLeases(store, { owner, shards, all: opts.all, batch: opts.fleet?.batch ?? 500, leaseMs: opts.fleet?.leaseMs ?? 300_000, schedule: opts.schedule });
        deps.log.info(`worker ${owner} sweeping the due URLs of ${shards.length} shards of ${store.where} (${opts.jobs} at once, ${opts.perHost} per host)`);
        return { source: leases, due: null, now: store.conn.now, finish: async () => undefined };
      });
    } finally {
      await store.close();
    }
  }
  // SQLite: the database file's lock keeps two sweeps of the same list apart.
  const stateFile = path.resolve(opts.stateFile);
  return withLock(lockPathFor(stateFile), async () => {
    const db = await openStateDb(stateFile);
    const tips = opts.objstoreDir ? openSqliteTipIndex(stateFile) : null;
    try {
      return await sweep(db, toplevel, list, opts, deps, tips, async () => {
        const started = deps.now();
        // Rounds tile time: this one covers (the last finished sweep's start, now].
        const window = { from: Number(db.meta('sweep_from') ?? 0), to: started, all: opts.all };
        const due = db.countDue(window, opts.schedule);
        deps.log.info(`sweeping ${due} of ${list.items.length} upstreams that are due (${opts.jobs} at once, ${opts.perHost} per host)`);
        // A page of due rows at a time (dueRows), each a local batch: memory for two pages whatever
        // the list's size; rows written meanwhile are all behind the page, so none is read twice.
        const page = opts.duePageRows ?? DUE_PAGE_ROWS;
        const source = localLeases(dueRows(db, window, opts.schedule, page), page, (rows) => db.write(rows));
        return { source, due, now: deps.now, finish: async () => db.setMeta('sweep_from', String(started)) };
      });
    } finally {
      await tips?.close();
      db.close();
    }
  });
}

interface Round {
  readonly source: LeaseSource;
  /** How many URLs are due this sweep, when known ahead (one process); null in a fleet. */
  readonly due: number | null;
  readonly now: () => number;
  /** After every claimed URL was checked and recorded. */
  readonly finish: () => Promise<void>;
}

async function sweep(store: StateStore, toplevel: string, list: ParsedList, opts: ListRunOptions, deps: ListRunDeps, tips: TipIndex | null, round: () => Promise<Round>): Promise<ListRunResult> {
  const { git, log } = deps;
  if (opts.legacyStateFile !== null) {
    const n = await store.importJson(opts.legacyStateFile);
    if (n) log.info(`took ${n} URLs from the JSON state ${opts.legacyStateFile} into the state database ${store.where}`);
  }
  await store.syncList(listDigest(list.items, list.refused), list.items, list.refused);
  const r = await round();
  const byUrl = new Map(list.items.map((it) => [redactUrls(it.url), it]));
  const counts: Record<RepoState, number> = { pending: 0, fetched: 0, unchanged: 0, not_found: 0, auth_required: 0, failed: 0, invalid: list.refused.length };
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
    nowSec: () => Math.floor(r.now() / 1000),
    collection: tips && opts.objstoreDir ? new Collection({ git, log, objstoreDir: opts.objstoreDir, index: tips }) : null,
  };
  // Changed rows are written as the sweep goes (worker.ts), so a sweep killed half-way keeps what it
  // learnt; rows it never reached stay due.
  let stats: WorkerStats;
  try {
    stats = await runWorker(
      { jobs: opts.jobs, leaseMs: opts.fleet?.leaseMs ?? 300_000, checkpointMs: opts.checkpointMs },
      {
        source: r.source,
        sleep: deps.sleep,
        now: deps.now,
        log,
        check: async (row) => {
          const it = byUrl.get(row.url);
          if (!it) return null;
          const out = await sweepOne(it, entryOf(row), ctx);
          counts[out.state]++;
          return rowAfter(row, out, r.now(), opts.schedule);
        },
      },
    );
  } finally {
    await probe.close();
  }
  await r.finish();
  if (r.due !== null) counts.pending = r.due - stats.checked;
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
  const notDue = list.items.length - (r.due ?? stats.checked);
  return { counts, notDue, rowsWritten: stats.written, probes: { ...probe.counts }, manifestWritten, ...(r.due === null ? { fleet: stats } : {}) };
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
export function listDigest(items: readonly { url: string; key: string }[], refused: readonly { url: string; why: string }[]): string {
  const h = createHash('sha256');
  for (const it of items) h.update(`${redactUrls(it.url)}\t${it.key}\n`);
  for (const r of refused) h.update(`!${r.url}\t${r.why}\n`);
  return h.digest('hex');
}
