/**
 * The manifest over http(s) with undici: If-Modified-Since and If-None-Match from the last fetch
 * (304 => unchanged), a 200 without Last-Modified is fine (grokmirror crashed on it), connect
 * timeout 30 s and a bound on the whole download, retries with backoff on network errors and 5xx,
 * netrc credentials. A `.gz` URL is gunzipped unless the server already applied Content-Encoding.
 */
import type { Dispatcher } from 'undici';
import { setTimeout as sleepMs } from 'node:timers/promises';
import { GrokError } from '../../shared/errors.js';
import { gunzipCapped } from '../../shared/manifest/inflate.js';
import { netrcCredentials, type Credentials } from './netrc.js';
import type { SourceRequest, SourceResult } from './types.js';
import { undiciLite } from './undici-lite.js';

export interface HttpSourceDeps {
  readonly dispatcher?: Dispatcher;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly credentials?: (host: string) => Credentials | null;
  readonly attempts?: number;
  readonly timeoutMs?: number;
}

class Retryable extends Error {}

async function readCapped(body: AsyncIterable<Buffer>, max: number, url: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    n += chunk.length;
    if (n > max) throw new GrokError('GROK_ERR_MANIFEST_TOO_LARGE', `${url}: larger than ${max} bytes (the manifest size cap)`, { url });
    parts.push(chunk);
  }
  return Buffer.concat(parts, n);
}

async function once(url: string, req: SourceRequest, dispatcher: Dispatcher, deps: HttpSourceDeps): Promise<SourceResult> {
  const u = new URL(url);
  const headers: Record<string, string> = { 'user-agent': 'grokmirror-ts', 'accept-encoding': 'gzip' };
  if (!req.force) {
    if (req.previous.etag) headers['if-none-match'] = req.previous.etag;
    if (req.previous.lastModified) headers['if-modified-since'] = req.previous.lastModified;
  }
  const creds = (deps.credentials ?? netrcCredentials)(u.hostname);
  if (creds) headers.authorization = `Basic ${Buffer.from(`${creds.login}:${creds.password}`).toString('base64')}`;
  const timeout = deps.timeoutMs ?? 15 * 60 * 1000;
  let res: Dispatcher.ResponseData;
  try {
    res = await (await undiciLite()).request.call(dispatcher, {
      origin: u.origin,
      path: `${u.pathname}${u.search}`,
      method: 'GET',
      headers,
      headersTimeout: 30_000,
      bodyTimeout: 60_000,
      signal: AbortSignal.timeout(timeout),
    });
  } catch (err) {
    throw new Retryable(`${url}: ${(err as Error).message}`);
  }
  if (res.statusCode === 304) {
    await res.body.dump();
    return { status: 'unchanged' };
  }
  if (res.statusCode >= 500) {
    await res.body.dump();
    throw new Retryable(`${url}: server answered ${res.statusCode}`);
  }
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new GrokError('GROK_ERR_MANIFEST_FETCH', `${url}: server answered ${res.statusCode}`, { url, status: res.statusCode });
  }
  let body: Buffer;
  try {
    body = await readCapped(res.body, req.maxBytes, url);
  } catch (err) {
    if (err instanceof GrokError) throw err;
    throw new Retryable(`${url}: download failed (${(err as Error).message})`);
  }
  const encoding = String(res.headers['content-encoding'] ?? '').toLowerCase();
  const gz = encoding === 'gzip' || (encoding === '' && u.pathname.endsWith('.gz'));
  const json = gz ? gunzipCapped(body, req.maxBytes, url) : body;
  const lm = res.headers['last-modified'];
  const etag = res.headers.etag;
  return { status: 'fetched', json, validators: { ...(typeof lm === 'string' ? { lastModified: lm } : {}), ...(typeof etag === 'string' ? { etag } : {}) } };
}

export async function fetchHttpManifest(url: string, req: SourceRequest, deps: HttpSourceDeps = {}): Promise<SourceResult> {
  if (deps.dispatcher) return fetchWithRetries(url, req, deps.dispatcher, deps);
  // Our own agent, closed when done: undici's global one keeps an idle socket and its timers alive,
  // which held every one-pass grok-pull open for ~160 ms after its work was finished.
  const agent = new (await undiciLite()).Agent({ connect: { timeout: 30_000 } });
  try {
    return await fetchWithRetries(url, req, agent, deps);
  } finally {
    await agent.destroy();
  }
}

async function fetchWithRetries(url: string, req: SourceRequest, dispatcher: Dispatcher, deps: HttpSourceDeps): Promise<SourceResult> {
  const attempts = deps.attempts ?? 3;
  const sleep = deps.sleep ?? ((ms: number) => sleepMs(ms));
  let last: Error | undefined;
  for (let i = 0; i < attempts; i++) {
    try {
      return await once(url, req, dispatcher, deps);
    } catch (err) {
      if (!(err instanceof Retryable)) throw err;
      last = err;
      if (i + 1 < attempts) await sleep(1000 * 2 ** i);
    }
  }
  throw new GrokError('GROK_ERR_MANIFEST_FETCH', `cannot fetch the manifest: ${last?.message ?? url} (after ${attempts} attempts)`, { url });
}
