/**
 * The manifest over HTTP: the gzip file as stored (no Content-Encoding, so clients save what they
 * get) and plain JSON, both with a strong ETag, Last-Modified, 304 for If-None-Match /
 * If-Modified-Since (If-None-Match wins, RFC 9110), and HEAD.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ManifestStore } from '../manifest-store.js';

export interface Conditional {
  readonly etag: string;
  readonly lastModifiedSec: number;
}

/** Whether a request's validators show the client already has this version. */
export function notModified(headers: FastifyRequest['headers'], v: Conditional): boolean {
  const inm = headers['if-none-match'];
  if (typeof inm === 'string') {
    if (inm.trim() === '*') return true;
    return inm.split(',').some((t) => t.trim() === v.etag);
  }
  const ims = headers['if-modified-since'];
  if (typeof ims === 'string') {
    const t = Date.parse(ims);
    return Number.isFinite(t) && v.lastModifiedSec <= Math.floor(t / 1000);
  }
  return false;
}

export function manifestRoutes(app: FastifyInstance, store: ManifestStore, urls: { gz: string; json: string }): void {
  const send = (req: FastifyRequest, reply: FastifyReply, kind: 'gz' | 'json') => {
    const cur = store.current();
    const v = { etag: kind === 'gz' ? cur.rendered.etag : cur.rendered.etag.replace(/"$/, '-json"'), lastModifiedSec: cur.lastModifiedSec };
    reply.header('etag', v.etag);
    reply.header('last-modified', new Date(v.lastModifiedSec * 1000).toUTCString());
    reply.header('cache-control', 'no-cache');
    if (notModified(req.headers, v)) return reply.code(304).send();
    store.markServed(v.lastModifiedSec);
    // fastify answers HEAD from this handler, keeping the headers and dropping the body.
    reply.type(kind === 'gz' ? 'application/gzip' : 'application/json; charset=utf-8');
    // The plain JSON is the built manifest's (a deferred build: after it).
    if (kind === 'json') return store.whenBuilt().then(() => reply.send(store.json()));
    // The gzip members as they are, one after the other: joining them would copy the whole file per generation.
    const { members, size } = cur.rendered;
    if (members.length === 1) return reply.send(members[0]);
    reply.header('content-length', size);
    return reply.send(Readable.from(members, { objectMode: false }));
  };
  for (const [url, kind] of [[urls.gz, 'gz'], [urls.json, 'json']] as const) {
    app.get(url, { exposeHeadRoute: true }, (req, reply) => send(req, reply, kind));
  }
}
