/**
 * Starting and stopping grok-origin: load (or first build) the manifest, serve it, write the handoff
 * file for hooks, watch for external writers, and on stop let running clones finish (up to the
 * shutdown timeout), flush pending manifest writes and remove the handoff file.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import { watch, type FSWatcher } from 'chokidar';
import type { FastifyInstance } from 'fastify';
import { describeError } from '../../shared/errors.js';
import { atomicWrite } from '../../shared/fs/atomic.js';
import type { Git } from '../../shared/git/index.js';
import type { Logger } from '../../shared/log.js';
import { checkHandoffDir, handoffPathFor, type Handoff } from '../manifest/handoff.js';
import { runManifest, type ManifestRunOptions } from '../manifest/run.js';
import { buildApp } from './app.js';
import { EventLog } from './event-log.js';
import { ManifestStore } from './manifest-store.js';
import { listenError, probeListen } from './listen-check.js';
import { originMetrics } from './metrics.js';
import { NotifyQueue } from './notify-queue.js';
import { startRepoWatch } from './repo-watch.js';
import { Semaphore } from './semaphore.js';
import { trackConnections } from './connections.js';
import { watchStalls } from './stall-watch.js';
import type { OriginSettings } from './settings.js';

/** How often the manifest file is looked at for rewrites the watcher did not report. */
const RECHECK_MS = 1000;

export interface OriginDeps {
  readonly git: Git;
  readonly log: Logger;
  readonly now: () => number;
  /** Awaited before a deferred build of the manifest starts (tests hold the build with it). */
  readonly beforeBuild?: () => Promise<void>;
}

export interface RunningOrigin {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly store: ManifestStore;
  readonly events: EventLog;
  readonly token: string;
  /**
   * Settles when the manifest is in memory: at once for a file in the sliced form; after the
   * server is listening for one in grokmirror's form (built from the file as it inflates, the file
   * served as it is meanwhile). A rejection is a bad manifest file: the caller must stop the server
   * and fail as a start-up with that file always has.
   */
  readonly built: Promise<void>;
  close(): Promise<void>;
}

/** A full grok-manifest walk with the server's settings (for a first start without a manifest). */
function fullWalk(settings: OriginSettings): ManifestRunOptions {
  return {
    toplevel: settings.toplevel,
    manifestFile: settings.manifestFile,
    paths: [],
    pretty: settings.pretty,
    useNow: false,
    checkExportOk: settings.checkExportOk,
    purge: false,
    remove: false,
    wait: false,
    fetchObjstore: false,
    regenerate: false,
    ignorePaths: settings.ignorePaths,
    ignoreRefs: [],
    maxBytes: settings.maxManifestBytes,
  };
}

export async function startOrigin(input: OriginSettings, deps: OriginDeps): Promise<RunningOrigin> {
  const { log } = deps;
  const settings = { ...input, toplevel: await fsp.realpath(input.toplevel) };
  const dirCheck = await checkHandoffDir(settings.manifestFile);
  if (dirCheck.warning) log.warn(dirCheck.warning);
  // Before a first start's walk writes the manifest: a taken port stops the start with nothing written.
  await probeListen(settings.listen);
  if (!existsSync(settings.manifestFile)) {
    log.info(`${settings.manifestFile} does not exist yet: building it from a full walk`);
    await runManifest(fullWalk(settings), deps);
  }
  const events = new EventLog(settings.eventsBacklog);
  const store = await ManifestStore.open(
    { file: settings.manifestFile, pretty: settings.pretty, writeDelayMs: settings.writeDelayMs, maxBytes: settings.maxManifestBytes },
    events,
    deps,
    true,
  );
  const queue = new NotifyQueue(store, deps.git, log, settings.toplevel, deps.now);
  const uploads = new Semaphore(settings.maxUploadPacks, settings.maxUploadPacksPerClient, settings.uploadPackWaitingPerClient);
  const metrics = originMetrics({ store, events, queue, uploads });
  const token = randomBytes(24).toString('hex');
  const feeds = new Set<() => void>();
  const app = buildApp(settings, { store, events, queue, git: deps.git, log, uploads, metrics, secrets: [token, settings.notifySecret], feeds });

  const connections = trackConnections(app.server);
  const stalls = watchStalls(app.server, { timeoutMs: settings.sendTimeoutMs, log, now: deps.now });
  const l = settings.listen;
  const url = await (l.socket ? app.listen({ path: l.socket }) : app.listen({ host: l.host!, port: l.port! })).catch((err: unknown) => {
    throw listenError(err, l);
  });
  const boundUrl = l.socket ? `unix:${l.socket}` : url;
  const handoffFile = handoffPathFor(settings.manifestFile);
  const handoff: Handoff = { ...(l.socket ? { socketPath: l.socket } : { url: boundUrl }), token, pid: process.pid };
  await atomicWrite(handoffFile, JSON.stringify(handoff), { mode: 0o600 });

  // External writers (a cron grok-manifest walk, grok-fsck) replace the file: reload and publish.
  const watcher: FSWatcher = watch(settings.manifestFile, { ignoreInitial: true, atomic: true });
  const onFileChange = () => {
    store.reload().then(
      (n) => n > 0 && log.info({ action: 'reload' }, `${settings.manifestFile} was rewritten by another process: ${n} changes published`),
      (err: unknown) => log.error(`cannot reload ${settings.manifestFile}: ${describeError(err)}`),
    );
  };
  watcher.on('change', onFileChange).on('add', onFileChange);
  // The watcher can miss the last of a quick series of rewrites (chokidar throttles a file's events
  // and re-watches the new inode after each rename), and nothing else would bring that one in until
  // the server's own next write: a stat a second catches what it missed (each version once, so a
  // damaged file is not reported every second).
  let looked = '';
  const recheck = setInterval(() => {
    void fsp.stat(settings.manifestFile).then(async (st) => {
      const version = `${st.ino}:${st.mtimeMs}:${st.size}`;
      if (version !== looked && !(await store.isOwnWrite())) onFileChange();
      looked = version;
    }, () => {});
  }, RECHECK_MS);
  recheck.unref();
  const repoWatch = settings.repoWatch ? await startRepoWatch(settings.toplevel, queue, log) : null;
  log.info(
    store.building
      ? `grok-origin serving ${settings.manifestFile} as it is from ${settings.toplevel} on ${boundUrl}; building its slices (notices wait for them)`
      : `grok-origin serving ${store.size} repositories from ${settings.toplevel} on ${boundUrl}`,
  );
  let stopping = false;
  const t0 = deps.now();
  // The background part of the start-up: the slices of a file in grokmirror's form built, then every
  // entry of a file in the sliced form checked. The file on disk is served as it is meanwhile.
  const wasBuilding = store.building;
  const built = store.build(deps.beforeBuild);
  const checked = built.then(
    () => {
      if (wasBuilding) log.info({ action: 'build' }, `${store.size} repositories in memory after ${deps.now() - t0} ms`);
      const t1 = deps.now();
      return store.checkEntries(() => stopping).then(
        (n) => log.info({ action: 'check' }, `every manifest entry checked in ${deps.now() - t1} ms${n > 0 ? `: ${n} dropped` : ''}`),
        (err: unknown) => log.error(`cannot check the manifest's entries: ${describeError(err)}`),
      );
    },
    // A bad file: `built` carries the error to the caller, which stops the server.
    () => {},
  );

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      stopping = true;
      await checked;
      await fsp.rm(handoffFile, { force: true });
      clearInterval(recheck);
      stalls.stop();
      await watcher.close();
      await repoWatch?.close();
      for (const end of [...feeds]) end();
      const appClosed = app.close();
      connections.closeUnused();
      const cut = setTimeout(() => {
        log.warn('shutdown timeout: closing remaining connections');
        app.server.closeAllConnections();
      }, settings.shutdownTimeoutMs);
      await appClosed;
      clearTimeout(cut);
      await store.flush();
    })());
  return { app, url: boundUrl, store, events, token, built, close };
}
