/**
 * grok-origin's HTTP application, built without listening (tests use inject() or listen on 127.0.0.1
 * themselves): the manifest, git smart HTTP, the notify endpoint, the change feed, bundles, /healthz,
 * /metrics.
 */
import fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Git } from '../../shared/git/index.js';
import { accessLog, urlPath } from './access-log.js';
import type { Logger } from '../../shared/log.js';
import type { EventLog } from './event-log.js';
import type { ManifestStore } from './manifest-store.js';
import type { OriginMetrics } from './metrics.js';
import type { NotifyQueue } from './notify-queue.js';
import { bundleRoutes, cloneBundleServer } from './routes/bundles.js';
import { feedRoutes } from './routes/feed.js';
import { gitHttpRoutes } from './routes/git-http.js';
import { manifestRoutes } from './routes/manifest.js';
import { notifyRoutes } from './routes/notify.js';
import type { Semaphore } from './semaphore.js';
import type { OriginSettings } from './settings.js';

export interface AppDeps {
  readonly store: ManifestStore;
  readonly events: EventLog;
  readonly queue: NotifyQueue;
  readonly git: Git;
  readonly log: Logger;
  readonly uploads: Semaphore;
  readonly metrics: OriginMetrics;
  /** Secrets accepted by /_grok/notify: the run's token (handoff file) and [origin] notify_secret. */
  readonly secrets: readonly string[];
  /** Open change-feed connections, closed on shutdown. */
  readonly feeds: Set<() => void>;
}

export function buildApp(settings: OriginSettings, deps: AppDeps): FastifyInstance {
  // fastify logs every request at info; the child's level keeps that out of the logs. It only ever
  // raises the level: a child at "warn" under a silent logger would print warnings again.
  const httpLevel = deps.log.levelVal > (deps.log.levels.values.warn ?? 40) ? deps.log.level : 'warn';
  const app = fastify({
    loggerInstance: deps.log.child({ module: 'http' }, { level: httpLevel }) as unknown as FastifyBaseLogger,
    bodyLimit: settings.notifyMaxBytes,
    routerOptions: { maxParamLength: 4096 },
    // Bound what an idle or slow client can hold: headers must arrive in 10 s, the whole request in
    // requestTimeoutMs, idle keep-alive 60 s. No socket timeout: a clone may stream for hours.
    // Node looks for expired connections every 5 s (its default, 30 s, let a connection that never
    // sent a byte live for up to 40 s).
    connectionTimeout: 0,
    keepAliveTimeout: 60_000,
    requestTimeout: settings.requestTimeoutMs,
    http: { headersTimeout: 10_000, maxHeaderSize: 16 * 1024, connectionsCheckingInterval: 5_000 },
  });
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  // Every refused request leaves a log line saying why (fastify's own 4xx, such as a body over the
  // limit or broken JSON, would otherwise be logged below the level we keep).
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    // fastify's own words name no limit; the route's does.
    const message = (err as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? `${err.message} (over ${req.routeOptions.bodyLimit ?? settings.notifyMaxBytes} bytes)` : err.message;
    const line = `${req.method} ${urlPath(req.url).slice(0, 200)} from ${req.socket.remoteAddress}: ${status} ${message}`;
    if (status < 500) req.log.warn(line);
    else req.log.error({ err }, line);
    return reply.code(status).send({ error: status < 500 ? message : 'internal error' });
  });
  accessLog(app, deps.log, { manifestUrls: [settings.gzUrl, settings.jsonUrl] });
  app.addHook('onResponse', async (req, reply) => {
    deps.metrics.requests.inc({ route: req.routeOptions.url ?? 'unknown', method: req.method, status: String(reply.statusCode) });
  });
  app.get('/healthz', async () => ({
    // Starting: the manifest file is served as it is while its slices are built (notices wait).
    status: deps.store.building ? 'starting' : 'ok',
    entries: deps.store.building ? null : deps.store.size,
    generation: deps.store.current().generation,
    last_write: deps.store.lastWriteMs ? new Date(deps.store.lastWriteMs).toISOString() : null,
    pending_changes: deps.store.pendingChanges,
    last_event: deps.events.idOf(deps.events.last),
  }));
  app.get('/metrics', async (_req, reply) => reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()));
  manifestRoutes(app, deps.store, { gz: settings.gzUrl, json: settings.jsonUrl });
  notifyRoutes(app, {
    toplevel: settings.toplevel,
    secrets: deps.secrets,
    requireSecret: settings.notifySecret !== '',
    maxBytes: settings.notifyMaxBytes,
    checkExportOk: settings.checkExportOk,
    ignorePaths: settings.ignorePaths,
    queue: deps.queue,
    store: deps.store,
    observeSeconds: (s) => deps.metrics.notifySeconds.observe(s),
  });
  feedRoutes(app, deps.events, deps.feeds, { maxClients: settings.maxFeedClients });
  const bundles = {
    toplevel: settings.toplevel,
    store: deps.store,
    checkExportOk: settings.checkExportOk,
    bundleDir: settings.bundleDir,
    preloadDir: settings.preloadBundleDir,
  };
  bundleRoutes(app, bundles);
  gitHttpRoutes(app, {
    toplevel: settings.toplevel,
    store: deps.store,
    git: deps.git,
    uploads: deps.uploads,
    checkExportOk: settings.checkExportOk,
    maxRequestBytes: settings.uploadPackMaxBytes,
    maxBufferedBytes: settings.uploadPackBufferedBytes,
    cloneBundle: cloneBundleServer(bundles),
  });
  return app;
}
