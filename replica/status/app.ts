/**
 * grok-pull -o's status server, built without listening (tests use inject()): the status page at /,
 * the same data at /status.json, Prometheus metrics at /metrics, liveness at /healthz (health.ts). Read-only, GET only. The page has
 * no scripts; its Content-Security-Policy says so, as a second line behind the escaping.
 */
import fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../../shared/log.js';
import { health } from './health.js';
import { statusMetrics } from './metrics.js';
import { renderStatusPage } from './page.js';
import type { StatusTracker } from './tracker.js';

export interface StatusAppDeps {
  readonly log: Logger;
}

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export function buildStatusApp(tracker: StatusTracker, deps: StatusAppDeps): FastifyInstance {
  const app = fastify({
    // fastify logs every request at info; the child's level keeps scrapes out of the logs.
    loggerInstance: deps.log.child({ module: 'status' }, { level: 'warn' }) as unknown as FastifyBaseLogger,
    // Headers must arrive in 10 s; idle keep-alive connections are dropped after 60 s.
    keepAliveTimeout: 60_000,
    http: { headersTimeout: 10_000, maxHeaderSize: 16 * 1024 },
  });
  const metrics = statusMetrics(tracker);
  app.get('/', async (_req, reply) => reply.headers(PAGE_HEADERS).send(renderStatusPage(tracker.snapshot())));
  app.get('/status.json', async (_req, reply) => reply.header('cache-control', 'no-store').send(tracker.snapshot()));
  app.get('/healthz', async (_req, reply) => {
    const h = health(tracker.snapshot());
    return reply.code(h.code).header('cache-control', 'no-store').send(h.body);
  });
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.scrape()));
  return app;
}
