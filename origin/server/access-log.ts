/**
 * grok-origin's access log, one line per request when its response is over (or its client went
 * away): method, path, status, bytes sent (headers included, as httpd's %O), milliseconds, client
 * address. Git and manifest requests are logged at info (what operators of httpd + git-http-backend
 * read their access log for); the rest (notices, the feed, health, metrics, bundles) at debug.
 *
 * Never logged: the query string (a proxy or a hand-made URL could carry a token there) and request
 * headers (the notify secret and the hooks' token travel in Authorization).
 */
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../shared/log.js';

const MAX_PATH = 1024;
const GIT_SUFFIX = /\/(?:info\/refs|git-upload-pack|git-receive-pack)$/;

/** The path of a request URL: no query string, at most MAX_PATH characters. */
export function urlPath(url: string): string {
  const q = url.indexOf('?');
  const p = q < 0 ? url : url.slice(0, q);
  return p.length > MAX_PATH ? `${p.slice(0, MAX_PATH)}...` : p;
}

export function accessLog(app: FastifyInstance, log: Logger, opts: { manifestUrls: readonly string[] }): void {
  const access = log.child({ action: 'access' });
  app.addHook('onRequest', (req, reply, done) => {
    const started = performance.now();
    const socket = req.raw.socket;
    const before = socket.bytesWritten;
    reply.raw.once('close', () => {
      const path = urlPath(req.url);
      const git = GIT_SUFFIX.test(path);
      const fields = {
        method: req.method,
        path,
        status: reply.raw.statusCode,
        bytes: socket.bytesWritten - before,
        ms: Math.round(performance.now() - started),
        client: socket.remoteAddress ?? '',
        ...(git ? { repo: path.replace(GIT_SUFFIX, '') } : {}),
        ...(reply.raw.writableFinished ? {} : { aborted: true }),
      };
      const line = `${fields.client} "${fields.method} ${fields.path}" ${fields.status} ${fields.bytes} ${fields.ms}ms${fields.aborted ? ' (aborted)' : ''}`;
      if (git || opts.manifestUrls.includes(path)) access.info(fields, line);
      else access.debug(fields, line);
    });
    done();
  });
}
