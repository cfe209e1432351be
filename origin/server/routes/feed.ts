/**
 * The change feed. `GET /_grok/events` is Server-Sent Events: each change is an `event: change` with
 * id `<boot>-<seq>` and `{"key", "entry"}` (entry null: the repository left); a client resuming with
 * Last-Event-ID gets what it missed, or `event: reset` when that is no longer possible (then it
 * re-reads the manifest). `GET /_grok/changes?since=<id>` answers the same question for pollers.
 */
import type { FastifyInstance } from 'fastify';
import type { ChangeEvent, EventLog } from '../event-log.js';

const HEARTBEAT_MS = 15_000;
/** A subscriber this far behind is dropped; it resumes with Last-Event-ID. */
const MAX_BUFFERED = 8 * 1024 * 1024;
const MAX_CHANGES = 10_000;

function sse(e: ChangeEvent, log: EventLog): string {
  return `id: ${log.idOf(e.seq)}\nevent: change\ndata: ${JSON.stringify({ key: e.key, entry: e.entry })}\n\n`;
}

export function feedRoutes(app: FastifyInstance, events: EventLog, open: Set<() => void>): void {
  app.get('/_grok/events', (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const resume = (req.headers['last-event-id'] as string | undefined) ?? (typeof q.last_event_id === 'string' ? q.last_event_id : undefined);
    reply.hijack();
    const res = reply.raw;
    // The stream owns its connection: when it ends, so does the connection (no idle keep-alive
    // left behind to hold up a shutdown).
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'close', 'x-accel-buffering': 'no' });
    res.write(`retry: 2000\n\n`);
    if (resume === undefined) {
      res.write(`id: ${events.idOf(events.last)}\nevent: hello\ndata: ${JSON.stringify({ last: events.idOf(events.last) })}\n\n`);
    } else {
      const since = events.since(resume);
      if ('reset' in since) res.write(`id: ${events.idOf(events.last)}\nevent: reset\ndata: ${JSON.stringify({ last: events.idOf(events.last) })}\n\n`);
      else for (const e of since.events) res.write(sse(e, events));
    }
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(beat);
      unsubscribe();
      open.delete(close);
      // Destroy rather than end: a client that keeps a half-dead socket (undici keeps one for its
      // 4 s keep-alive after an abort) must not hold up a shutdown.
      res.destroy();
    };
    const unsubscribe = events.subscribe((e) => {
      if (res.writableLength > MAX_BUFFERED) return close();
      res.write(sse(e, events));
    });
    const beat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    open.add(close);
    // The response's 'close' means the connection went away (a request's 'close' only means its
    // body was read, which for a GET is at once).
    res.on('close', close);
  });

  app.get('/_grok/changes', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const since = events.since(typeof q.since === 'string' ? q.since : undefined);
    const last = events.idOf(events.last);
    if ('reset' in since) return reply.send({ last, reset: true, changes: [] });
    const list = since.events.slice(0, MAX_CHANGES);
    return reply.send({
      last: list.length > 0 ? events.idOf(list[list.length - 1]!.seq) : last,
      reset: false,
      more: since.events.length > MAX_CHANGES,
      changes: list.map((e) => ({ id: events.idOf(e.seq), key: e.key, entry: e.entry })),
    });
  });
}
