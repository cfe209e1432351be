/**
 * grok-pull -o: one loop that does the work, fed by triggers: a full pass at start and every
 * `refresh` seconds (conditional: a 304 costs almost nothing), a forced re-check on `recheck_cron`
 * (node-cron), targeted updates from the origin's change feed (each event carries the entry; a push
 * reaches this replica in about a second) and from the unix socket, and grok-fsck on `fsck_cron`
 * (started by the loop, which then holds every pass until it ends, so fsck never runs beside a pull;
 * with a status page, the loop goes on checking the manifest meanwhile: manifest-watch.ts). Notices
 * that arrive while work is running are batched.
 * A failed pass, fsck or manifest fetch is logged and the daemon carries on; on stop, the running job
 * finishes (it flushes its state) and nothing new starts. With `status_listen`, a status page and
 * Prometheus metrics (replica/status/) follow the passes through their events.
 */
import type { Server } from 'node:net';
import { schedule as cronSchedule, validate } from 'node-cron';
import { configWhere, type GrokConfig } from '../shared/config/config.js';
import { describeError, GrokError } from '../shared/errors.js';
import type { FsckDeps, FsckResult, FsckRunOptions } from '../shared/fsck/run.js';
import type { Git } from '../shared/git/index.js';
import { isLockWaitStopped } from '../shared/lock.js';
import type { Logger } from '../shared/log.js';
import type { ManifestEntry } from '../shared/manifest/entry.js';
import { readManifestFile } from '../shared/manifest/io.js';
import { withPassLock } from './daemon-lock.js';
import { followFeed } from './feed-client.js';
import { fileRecordStore, passRecorder, type PassRecorder } from './pass-recorder.js';
import { runPull } from './run.js';
import { manifestWatch } from './manifest-watch.js';
import { listenSocket } from './socket-listener.js';
import { aboutReplica } from './status/about.js';
import type { RunningStatusServer } from './status/server.js';
import { StatusTracker } from './status/tracker.js';
import { pullTargets, type TargetItem } from './targeted.js';

export interface CronJob {
  stop(): void | Promise<void>;
}

export interface DaemonDeps {
  readonly git: Git;
  readonly log: Logger;
  readonly now: () => number;
  /** Starts a cron job: node-cron by default; tests fire the job themselves instead of waiting a minute. */
  readonly schedule?: (expression: string, job: () => void) => CronJob;
  /** One grok-fsck pass: shared/fsck/run.ts by default, loaded only when `fsck_cron` first fires. */
  readonly runFsck?: (config: GrokConfig, opts: FsckRunOptions, deps: FsckDeps) => Promise<FsckResult>;
  /** Runs `job` every `ms` (the refresh timer): setInterval by default; tests fire it themselves. */
  readonly every?: (ms: number, job: () => void) => CronJob;
  /** Told the status server's URL once it listens (status_listen may ask for port 0). */
  readonly onStatusListening?: (url: string) => void;
}

const FSCK_OPTIONS: FsckRunOptions = { force: false, repackOnly: false, connectivityOnly: false, repackAll: null };

function checkCron(config: GrokConfig, key: 'recheck_cron' | 'fsck_cron'): void {
  const expr = config.pull[key];
  if (expr && !validate(expr)) {
    throw new GrokError('GROK_ERR_CONFIG_VALUE', `${configWhere(config, 'pull', key)}: ${JSON.stringify(expr)} is not a cron expression`);
  }
}

async function defaultRunFsck(config: GrokConfig, opts: FsckRunOptions, deps: FsckDeps): Promise<FsckResult> {
  // Lazily: most daemons never run fsck, and grok-pull -o's start-up stays free of its modules.
  const { runFsck } = await import('../shared/fsck/run.js');
  return runFsck(config, opts, deps);
}

export interface DaemonOptions {
  readonly purge: boolean;
  readonly forcePurge: boolean;
}

/** Where the change feed is, or null: [pull] feed = auto looks beside an http(s) manifest URL. */
export function feedUrl(config: GrokConfig): string | null {
  const f = config.pull.feed.trim();
  if (f === '' || f === 'no' || f === 'off') return null;
  if (f !== 'auto') return f;
  const m = config.remote.manifest;
  return /^https?:\/\//.test(m) && !config.remote.manifest_command ? new URL('/_grok/events', m).href : null;
}

/** The status tracker and its server, when `status_listen` asks for them. */
async function startStatus(config: GrokConfig, deps: DaemonDeps, record: PassRecorder): Promise<{ tracker: StatusTracker; server: RunningStatusServer } | null> {
  if (!config.pull.status_listen) return null;
  // Loaded only here: fastify and prom-client are start-up cost a daemon without a status page need not pay.
  const { parseStatusListen, startStatusServer } = await import('./status/server.js');
  const listen = parseStatusListen(config.pull.status_listen, config.file);
  const tracker = new StatusTracker({ now: deps.now, refreshSeconds: config.pull.refresh, feed: feedUrl(config) !== null, about: aboutReplica(config), record });
  try {
    tracker.setHeld((await readManifestFile(config.core.manifest, config.core.manifest_max_size))?.entries.size ?? 0);
  } catch (err) {
    deps.log.warn(`status: cannot count the repositories in ${config.core.manifest} yet: ${describeError(err)}`);
  }
  const server = await startStatusServer(listen, tracker, { log: deps.log });
  deps.log.info(`status page on ${server.url}`);
  deps.onStatusListening?.(server.url);
  return { tracker, server };
}

export async function runDaemon(config: GrokConfig, opts: DaemonOptions, baseDeps: DaemonDeps, signal: AbortSignal): Promise<void> {
  checkCron(config, 'recheck_cron');
  checkCron(config, 'fsck_cron');
  // The record in the toplevel is where failing repositories are kept: a restart, and a one-shot pass
  // run by hand meanwhile, leave the status page saying what grok-pull --status says.
  // Its next retry is the refresh timer's next full pass, the one the status page shows.
  const next = { fullPass: baseDeps.now() + config.pull.refresh * 1000 };
  const recorder = passRecorder(fileRecordStore(config.core.toplevel), { now: baseDeps.now, log: baseDeps.log, nextRetryAt: () => next.fullPass });
  const status = await startStatus(config, baseDeps, recorder);
  const tracker = status?.tracker ?? null;
  const setNextFullPass = (at: number) => {
    next.fullPass = at;
    tracker?.setNextFullPass(at);
  };
  try {
    await follow(config, opts, baseDeps, signal, { tracker, recorder, setNextFullPass });
  } finally {
    await status?.server.close();
  }
}

async function follow(
  config: GrokConfig,
  opts: DaemonOptions,
  baseDeps: DaemonDeps,
  signal: AbortSignal,
  { tracker, recorder, setNextFullPass }: { readonly tracker: StatusTracker | null; readonly recorder: PassRecorder; readonly setNextFullPass: (at: number) => void },
): Promise<void> {
  // The tracker passes every event on to the recorder it was given.
  const deps = { ...baseDeps, warned: new Set<string>(), events: tracker?.events ?? recorder };
  const { log } = deps;
  const schedule = baseDeps.schedule ?? ((expr: string, job: () => void): CronJob => cronSchedule(expr, job));
  let full: { force: boolean } | null = { force: false };
  let fsckDue = false;
  // The fsck_cron run of grok-fsck, while it runs: passes wait for it; `checkDue` (a refresh tick
  // meanwhile) asks for a manifest check in the meantime.
  let fsck: Promise<void> | null = null;
  let checkDue = false;
  const targets = new Map<string, TargetItem>();
  let wake: (() => void) | null = null;
  const poke = () => {
    wake?.();
    wake = null;
  };
  const wantFull = (force: boolean) => {
    full = { force: force || (full?.force ?? false) };
    poke();
  };
  const wantTarget = (key: string, entry?: ManifestEntry) => {
    targets.set(key, entry ? { key, entry } : { key });
    tracker?.noticed(key);
    tracker?.setQueueDepth(targets.size);
    poke();
  };
  const retryFailing = () => {
    for (const key of Object.keys(recorder.failingNow())) if (!targets.has(key)) targets.set(key, { key });
    tracker?.setQueueDepth(targets.size);
  };
  // The feed says the manifest changed as a whole (an event without its entry, or events were missed).
  const wantManifest = () => {
    tracker?.noticed(null);
    wantFull(false);
  };
  const wantFsck = () => {
    fsckDue = true;
    poke();
  };

  // The socket first: if it cannot listen, nothing else has been started that would keep us alive.
  let socket: Server | null = null;
  if (config.pull.socket) socket = await listenSocket(config.pull.socket, (p) => wantTarget(p), log, configWhere(config, 'pull', 'socket'));
  const refreshMs = config.pull.refresh * 1000;
  const every = baseDeps.every ?? ((ms: number, job: () => void): CronJob => {
    const t = setInterval(job, ms);
    return { stop: () => clearInterval(t) };
  });
  const timer = every(refreshMs, () => {
    setNextFullPass(deps.now() + refreshMs);
    checkDue = true;
    wantFull(false);
  });
  setNextFullPass(deps.now() + refreshMs);
  const crons: CronJob[] = [];
  if (config.pull.recheck_cron) crons.push(schedule(config.pull.recheck_cron, () => wantFull(true)));
  if (config.pull.fsck_cron) crons.push(schedule(config.pull.fsck_cron, wantFsck));
  const feed = feedUrl(config);
  const feedDone = feed
    ? followFeed({ url: feed, log, signal }, {
        onChange: (key, entry) => (entry ? wantTarget(key, entry) : wantManifest()),
        onReset: wantManifest,
        // The loss itself is logged (as a warning) by the feed client, with its cause.
        onConnected: (up, lastHeard) => {
          tracker?.feedConnected(up, lastHeard);
          if (up) log.info(`following the change feed at ${feed}`);
        },
        onMissing: () => tracker?.feedMissing(),
        onBytes: (n) => tracker?.feedBytes(n),
      })
    : Promise.resolve();
  signal.addEventListener('abort', poke, { once: true });

  try {
    let check: (() => Promise<void>) | null = null;
    while (!signal.aborted) {
      if (fsck) {
        // Checks only feed the status page and /healthz: without one nothing would read them.
        if (checkDue && tracker) {
          checkDue = false;
          check ??= manifestWatch(config, { log, now: deps.now, onChecked: tracker.events.onManifestChecked });
          await check();
          continue;
        }
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      check = null;
      if (full) {
        const force = full.force;
        full = null;
        checkDue = false;
        try {
          const res = await withPassLock(config.core.toplevel, () => runPull(config, { force, purge: opts.purge, forcePurge: opts.forcePurge }, deps), signal);
          if (res.status === 'done') log.info(`pass: ${res.cloned.length} cloned, ${res.updated.length} updated, ${res.fixed.length} fixed, ${res.purged.length} purged, ${res.failed.length} failed`);
          // A full pass that failed a repository keeps the manifest's fetch unrecorded, so the next one
          // plans it again; one that failed in a targeted pass (a feed event, a socket notice) is not in
          // that plan when the manifest is unchanged: the record's failing ones are retried here instead.
          if (res.status === 'unchanged') retryFailing();
        } catch (err) {
          if (isLockWaitStopped(err)) break;
          log.error(`pass failed: ${describeError(err)}; trying again at the next refresh`);
        }
        continue;
      }
      // Before notices: a busy feed could otherwise put the fsck off for ever. Updates that arrive while
      // it works are batched and fetched when it is done; fsck and pull never touch repositories at once.
      if (fsckDue) {
        fsckDue = false;
        tracker?.fsckStarted();
        // A repository with errors may have been marked for a reclone; a pass looks at unchanged
        // repositories only when it rechecks (plan.ts diskLook), so the next one does.
        fsck = fsckLoggingFailures(config, deps, tracker).then((found) => {
          fsck = null;
          if (found) wantFull(true);
          else poke();
        });
        continue;
      }
      if (targets.size > 0) {
        // A moment for a burst of events to gather into one batch.
        await new Promise((r) => setTimeout(r, 20));
        const batch = [...targets.values()];
        targets.clear();
        tracker?.setQueueDepth(0);
        try {
          const res = await withPassLock(config.core.toplevel, () => pullTargets(config, batch, deps), signal);
          if (res.updated.length + res.cloned.length + res.fixed.length > 0) log.info(`notices: ${res.cloned.length} cloned, ${res.updated.length} updated, ${res.fixed.length} fixed, ${res.failed.length} failed`);
        } catch (err) {
          if (isLockWaitStopped(err)) break;
          log.error(`notices failed: ${describeError(err)}`);
        }
        continue;
      }
      await new Promise<void>((r) => (wake = r));
    }
  } finally {
    // On stop, a running fsck finishes (it flushes its state) before the daemon returns.
    await fsck;
    await timer.stop();
    for (const c of crons) await c.stop();
    await new Promise<void>((r) => (socket ? socket.close(() => r()) : r()));
    await feedDone;
  }
}

/**
 * A failed fsck is logged and the daemon carries on: the next `fsck_cron` tick tries again. True when
 * it found repositories with errors.
 */
async function fsckLoggingFailures(config: GrokConfig, deps: DaemonDeps, tracker: StatusTracker | null): Promise<boolean> {
  const { log } = deps;
  try {
    const res = await (deps.runFsck ?? defaultRunFsck)(config, FSCK_OPTIONS, { git: deps.git, log, now: deps.now });
    if (res.status === 'busy') log.info('fsck: another grok-fsck is running; skipped');
    else log.info(`fsck: ${res.checked.length} checked, ${res.repacked.length} repacked, ${res.errors.length} with errors`);
    tracker?.fsckDone(res.status, { checked: res.checked.length, repacked: res.repacked.length, errors: res.errors.length });
    return res.status === 'done' && res.errors.length > 0;
  } catch (err) {
    log.error(`fsck failed: ${describeError(err)}; trying again at the next fsck_cron time`);
    tracker?.fsckDone('failed', undefined, describeError(err));
    return false;
  }
}
