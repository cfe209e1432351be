/**
 * The manifest over http(s) with undici: If-Modified-Since and If-None-Match from the last fetch
 * (304 => unchanged), a 200 without Last-Modified is fine (grokmirror crashed on it), connect
 * timeout 30 s, a minimum rate and a deadline for the whole fetch (transfer.ts), retries with backoff
 * on network errors, 5xx and slow transfers (each logged as a warning), credentials from the URL or
 * netrc (auth.ts). A `.gz` URL is gunzipped unless the server already applied Content-Encoding.
 */
import type { Dispatcher } from 'undici';
import { setTimeout as sleepMs } from 'node:timers/promises';
import { GrokError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import { gzipManifestBody } from '../../shared/manifest/sliced-read.js';
import { redactUrls } from '../../shared/safe-text.js';
import { httpTarget, type CredentialsLookup } from './auth.js';
import { TransferGuard, type RateLimit } from './transfer.js';
import type { SourceRequest, SourceResult } from './types.js';
import { undiciLite } from './undici-lite.js';

export interface HttpSourceDeps {
  readonly dispatcher?: Dispatcher;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly credentials?: CredentialsLookup;
  readonly attempts?: number;
  /** The minimum rate ([remote] low_speed_limit, low_speed_time; default 1000 bytes/s over 120 s). */
  readonly rate?: RateLimit;
  /** The whole fetch, retries included ([remote] manifest_timeout; default 10 minutes). */
  readonly timeoutMs?: number;
  /** Where a failed attempt that will be retried is reported. */
  readonly log?: Logger;
}

const DEFAULT_RATE: RateLimit = { lowSpeedLimit: 1000, lowSpeedTimeMs: 120_000 };

class Retryable extends Error {}

async function readCapped(body: AsyncIterable<Buffer>, max: number, url: string, guard: TransferGuard): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    guard.count(chunk.length);
    n += chunk.length;
    if (n > max) throw new GrokError('GROK_ERR_MANIFEST_TOO_LARGE', `${url}: larger than ${max} bytes (the manifest size cap)`, { url });
    parts.push(chunk);
  }
  return Buffer.concat(parts, n);
}

async function once(url: string, req: SourceRequest, dispatcher: Dispatcher, deps: HttpSourceDeps, guard: TransferGuard): Promise<SourceResult> {
  const shown = redactUrls(url);
  const target = httpTarget(url, deps.credentials);
  const headers: Record<string, string> = { 'user-agent': 'grokmirror-ts', 'accept-encoding': 'gzip' };
  if (!req.force) {
    if (req.previous.etag) headers['if-none-match'] = req.previous.etag;
    if (req.previous.lastModified) headers['if-modified-since'] = req.previous.lastModified;
  }
  if (target.authorization) headers.authorization = target.authorization;
  let res: Dispatcher.ResponseData;
  try {
    res = await (await undiciLite()).request.call(dispatcher, {
      origin: target.origin,
      path: target.path,
      method: 'GET',
      headers,
      headersTimeout: 30_000,
      bodyTimeout: 60_000,
      signal: guard.signal,
    });
  } catch (err) {
    throw new Retryable(`${shown}: ${guard.failure ?? (err as Error).message}`);
  }
  if (res.statusCode === 304) {
    await res.body.dump();
    return { status: 'unchanged' };
  }
  if (res.statusCode >= 500) {
    await res.body.dump();
    throw new Retryable(`${shown}: server answered ${res.statusCode}`);
  }
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new GrokError('GROK_ERR_MANIFEST_FETCH', `${shown}: server answered ${res.statusCode}`, { url: shown, status: res.statusCode });
  }
  let body: Buffer;
  try {
    body = await readCapped(res.body, req.maxBytes, shown, guard);
  } catch (err) {
    if (err instanceof GrokError) throw err;
    throw new Retryable(`${shown}: download failed (${guard.failure ?? (err as Error).message})`);
  }
  const encoding = String(res.headers['content-encoding'] ?? '').toLowerCase();
  const gz = encoding === 'gzip' || (encoding === '' && new URL(url).pathname.endsWith('.gz'));
  const json = gz ? gzipManifestBody(body, req.maxBytes, shown) : body;
  const lm = res.headers['last-modified'];
  const etag = res.headers.etag;
  return { status: 'fetched', json, validators: { ...(typeof lm === 'string' ? { lastModified: lm } : {}), ...(typeof etag === 'string' ? { etag } : {}) }, downloaded: body.length };
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
  const timeoutMs = deps.timeoutMs ?? 600_000;
  const deadline = Date.now() + timeoutMs;
  let last: Error | undefined;
  let tried = 0;
  while (tried < attempts && Date.now() < deadline) {
    tried++;
    // One deadline for every attempt: retries share the time, they do not each get it anew.
    const guard = new TransferGuard(deps.rate ?? DEFAULT_RATE, deadline - Date.now(), 'manifest_timeout');
    try {
      return await once(url, req, dispatcher, deps, guard);
    } catch (err) {
      if (!(err instanceof Retryable)) throw err;
      last = err;
      const wait = 1000 * 2 ** (tried - 1);
      if (tried < attempts && Date.now() + wait < deadline) {
        deps.log?.warn(`manifest: attempt ${tried} of ${attempts} failed: ${err.message}; trying again in ${wait / 1000}s`);
        await sleep(wait);
      }
    } finally {
      guard.stop();
    }
  }
  const shown = redactUrls(url);
  throw new GrokError('GROK_ERR_MANIFEST_FETCH', `cannot fetch the manifest: ${last?.message ?? `${shown}: not done after ${timeoutMs / 1000} s ([remote] manifest_timeout)`} (after ${tried} attempt${tried === 1 ? '' : 's'})`, { url: shown });
}
