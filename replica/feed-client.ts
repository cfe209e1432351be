/**
 * Follows grok-origin's change feed (Server-Sent Events) with undici: each `change` event is handed
 * on with its entry; `reset` means events were missed and the manifest must be re-read. Reconnects
 * with backoff and resumes with Last-Event-ID. A feed that does not exist (a grokmirror origin: 404)
 * is retried rarely; polling covers that origin meanwhile.
 */
import { request, type Dispatcher } from 'undici';
import { describeError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { ManifestEntry } from '../shared/manifest/entry.js';

export interface FeedHandlers {
  onChange(key: string, entry: ManifestEntry | null): void;
  onReset(): void;
  onConnected?(connected: boolean): void;
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
  let lastId: string | undefined;
  let delay = 1000;
  while (!opts.signal.aborted) {
    try {
      const res = await request(opts.url, {
        headers: { accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) },
        signal: opts.signal,
        headersTimeout: 30_000,
        bodyTimeout: 60_000,
        ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        const wait = res.statusCode === 404 ? 600_000 : delay;
        opts.log.info(`change feed ${opts.url} answered ${res.statusCode}; polling instead, trying again in ${wait / 1000}s`);
        await sleep(wait, opts.signal);
        continue;
      }
      handlers.onConnected?.(true);
      delay = 1000;
      let buf = '';
      res.body.setEncoding('utf8');
      for await (const chunk of res.body as AsyncIterable<string>) {
        buf += chunk;
        if (buf.length > MAX_EVENT_BYTES) throw new Error('an event larger than 4 MiB');
        for (let at = buf.indexOf('\n\n'); at >= 0; at = buf.indexOf('\n\n')) {
          const ev = parseSseBlock(buf.slice(0, at));
          buf = buf.slice(at + 2);
          if (!ev) continue;
          if (ev.id) lastId = ev.id;
          if (ev.event === 'reset') handlers.onReset();
          else if (ev.event === 'change') {
            const d = JSON.parse(ev.data) as { key?: unknown; entry?: unknown };
            if (typeof d.key === 'string') handlers.onChange(d.key, (d.entry ?? null) as ManifestEntry | null);
          }
        }
      }
    } catch (err) {
      if (opts.signal.aborted) break;
      opts.log.info(`change feed ${opts.url}: ${describeError(err)}; reconnecting in ${delay / 1000}s`);
    }
    handlers.onConnected?.(false);
    await sleep(delay, opts.signal);
    delay = Math.min(delay * 2, 60_000);
  }
}
