/**
 * Follows grok-origin's change feed (Server-Sent Events) with undici: each `change` event is handed
 * on with its entry; `reset` means events were missed and the manifest must be re-read. Reconnects
 * with backoff and resumes with Last-Event-ID. A feed that does not exist (a grokmirror origin: 404)
 * is retried rarely; polling covers that origin meanwhile. A feed that is lost (or cannot be reached)
 * is a warning, once until it is back: pushes reach this replica only at the next poll meanwhile.
 * Credentials come from the URL or netrc, as for the manifest.
 */
import { request, type Dispatcher } from 'undici';
import { describeError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { ManifestEntry } from '../shared/manifest/entry.js';
import { httpTarget } from './source/auth.js';

export interface FeedHandlers {
  onChange(key: string, entry: ManifestEntry | null): void;
  onReset(): void;
  /** true when the feed connects; false when a connected feed is lost, with when it last sent anything (epoch ms). */
  onConnected?(connected: boolean, lastHeard?: number): void;
  /** The origin has no feed (it answered 404 before the feed ever connected: a grokmirror origin). */
  onMissing?(): void;
  /** Bytes the feed sent (for the downloaded-bytes metric). */
  onBytes?(n: number): void;
}

export interface FeedOptions {
  readonly url: string;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly dispatcher?: Dispatcher;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const MAX_EVENT_BYTES = 4 * 1024 * 1024;

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}

/** Parses one SSE block; returns null for comments and keep-alives. */
export function parseSseBlock(block: string): { id?: string; event: string; data: string } | null {
  let id: string | undefined;
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const at = line.indexOf(':');
    const field = at < 0 ? line : line.slice(0, at);
    const value = at < 0 ? '' : line.slice(at + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0 && id === undefined) return null;
  return { ...(id !== undefined ? { id } : {}), event, data: data.join('\n') };
}

export async function followFeed(opts: FeedOptions, handlers: FeedHandlers): Promise<void> {
  const sleep = opts.sleep ?? abortableSleep;
  const target = httpTarget(opts.url);
  let lastId: string | undefined;
  let delay = 1000;
  let connected = false;
  let everConnected = false;
  let lastHeard = 0;
  let warned = false;
  // The first failure since the feed was last up is a warning; the retries after it are not news.
  const lost = (msg: string) => {
    if (warned) opts.log.info(msg);
    else opts.log.warn(msg);
    warned = true;
  };
  while (!opts.signal.aborted) {
    try {
      const res = await request(`${target.origin}${target.path}`, {
        headers: { accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}), ...(target.authorization ? { authorization: target.authorization } : {}) },
        signal: opts.signal,
        headersTimeout: 30_000,
        bodyTimeout: 60_000,
        ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        const wait = res.statusCode === 404 ? 600_000 : delay;
        const msg = `change feed ${opts.url} answered ${res.statusCode}; polling instead, trying again in ${wait / 1000}s`;
        // An origin without a feed (grokmirror's) answers 404 from the start: that is no loss.
        if (res.statusCode === 404 && !everConnected) {
          opts.log.info(msg);
          handlers.onMissing?.();
        } else lost(msg);
        await sleep(wait, opts.signal);
        continue;
      }
      connected = everConnected = true;
      lastHeard = Date.now();
      handlers.onConnected?.(true);
      // Healthy once something it sent made sense: a feed that connects and then sends garbage every
      // time keeps backing off (and is warned about once), it does not reconnect every second.
      let healthy = false;
      let buf = '';
      const text = new TextDecoder();
      for await (const bytes of res.body as AsyncIterable<Buffer>) {
        lastHeard = Date.now();
        handlers.onBytes?.(bytes.length);
        buf += text.decode(bytes, { stream: true });
        if (buf.length > MAX_EVENT_BYTES) throw new Error('an event larger than 4 MiB');
        for (let at = buf.indexOf('\n\n'); at >= 0; at = buf.indexOf('\n\n')) {
          const ev = parseSseBlock(buf.slice(0, at));
          buf = buf.slice(at + 2);
          if (ev?.id) lastId = ev.id;
          if (ev?.event === 'reset') handlers.onReset();
          else if (ev?.event === 'change') {
            const d = JSON.parse(ev.data) as { key?: unknown; entry?: unknown };
            if (typeof d.key === 'string') handlers.onChange(d.key, (d.entry ?? null) as ManifestEntry | null);
          }
          if (!healthy) {
            healthy = true;
            warned = false;
            delay = 1000;
          }
        }
      }
      if (!opts.signal.aborted) lost(`change feed ${opts.url} was closed by the origin; reconnecting in ${delay / 1000}s`);
    } catch (err) {
      if (opts.signal.aborted) break;
      lost(`change feed ${opts.url}: ${describeError(err)}; reconnecting in ${delay / 1000}s`);
    }
    if (connected) {
      connected = false;
      handlers.onConnected?.(false, lastHeard);
    }
    await sleep(delay, opts.signal);
    delay = Math.min(delay * 2, 60_000);
  }
}
