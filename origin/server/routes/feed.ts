/**
 * The change feed. `GET /_grok/events` is Server-Sent Events: each change is an `event: change` with
 * id `<boot>-<seq>` and `{"key", "entry"}` (entry null: the repository left); a client resuming with
 * Last-Event-ID gets what it missed, or `event: reset` when that is no longer possible (then it
 * re-reads the manifest). `GET /_grok/changes?since=<id>` answers the same question for pollers.
 *
 * Nothing here holds more for a client than its socket takes: a subscriber is sent the next event
 * only once its socket has room (no more than one socket buffer plus one event waits per
 * subscriber, whether it is catching up on the backlog or following live), and one whose next event
 * has left the backlog meanwhile gets `reset` and is closed. Subscribers are bounded
 * (`[origin] max_feed_clients`); one that takes nothing at all is closed by the stall watch.
 * `/_grok/changes` answers are bounded in changes and bytes and streamed the same way.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ChangeEvent, EventLog } from '../event-log.js';

const HEARTBEAT_MS = 15_000;
const MAX_CHANGES = 10_000;
/** Bytes of changes in one `/_grok/changes` answer (at least one change is always given). */
const MAX_CHANGES_BYTES = 4 * 1024 * 1024;

export interface FeedLimits {
  readonly maxClients: number;
}

function sse(e: ChangeEvent, log: EventLog): string {
  return `id: ${log.idOf(e.seq)}\nevent: change\ndata: ${JSON.stringify({ key: e.key, entry: e.entry })}\n\n`;
}

function resetEvent(events: EventLog): string {
  return `id: ${events.idOf(events.last)}\nevent: reset\ndata: ${JSON.stringify({ last: events.idOf(events.last) })}\n\n`;
}

export function feedRoutes(app: FastifyInstance, events: EventLog, open: Set<() => void>, limits: FeedLimits): void {
  app.get('/_grok/events', (req, reply) => {
    if (open.size >= limits.maxClients) {
      req.log.warn({ from: req.socket.remoteAddress, action: 'feed' }, `change feed refused to ${req.socket.remoteAddress} (503): ${open.size} subscribers already ([origin] max_feed_clients)`);
      return reply.code(503).header('retry-after', '60').type('text/plain').send('Too many change-feed subscribers; poll the manifest meanwhile\n');
    }
    const q = req.query as Record<string, unknown>;
    const resume = (req.headers['last-event-id'] as string | undefined) ?? (typeof q.last_event_id === 'string' ? q.last_event_id : undefined);
    reply.hijack();
    const res = reply.raw;
    // The stream owns its connection: when it ends, so does the connection (no idle keep-alive
    // left behind to hold up a shutdown).
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'close', 'x-accel-buffering': 'no' });
    res.write(`retry: 2000\n\n`);
    // The last event this subscriber has been sent (or told about by hello/reset).
    let sent = events.last;
    if (resume === undefined) {
      res.write(`id: ${events.idOf(events.last)}\nevent: hello\ndata: ${JSON.stringify({ last: events.idOf(events.last) })}\n\n`);
    } else {
      const from = events.resumeSeq(resume);
      if (from === null) res.write(resetEvent(events));
      else sent = from;
    }
    let closed = false;
    const stop = () => close();
    const close = (last?: string) => {
      if (closed) return;
      closed = true;
      clearInterval(beat);
      unsubscribe();
      open.delete(stop);
      // A last word (reset) is flushed before the connection ends; the stall watch ends it if the
      // client never takes it. Otherwise destroy rather than end: a client that keeps a half-dead
      // socket (undici keeps one for its 4 s keep-alive after an abort) must not hold up a shutdown.
      if (last !== undefined) res.end(last);
      else res.destroy();
    };
    // Sends what is due while the socket has room; 'drain' brings it back for the rest.
    const pump = () => {
      while (!closed && sent < events.last && !res.writableNeedDrain) {
        const e = events.at(sent + 1);
        if (e === null) {
          // Fell behind the backlog: what it missed is gone, it must re-read the manifest.
          req.log.warn({ from: req.socket.remoteAddress, action: 'feed' }, `change feed subscriber ${req.socket.remoteAddress} fell behind the backlog: reset`);
          return close(resetEvent(events));
        }
        res.write(sse(e, events));
        sent = e.seq;
      }
    };
    const unsubscribe = events.subscribe(pump);
    res.on('drain', pump);
    const beat = setInterval(() => {
      if (!res.writableNeedDrain) res.write(': keep-alive\n\n');
    }, HEARTBEAT_MS);
    open.add(stop);
    // The response's 'close' means the connection went away (a request's 'close' only means its
    // body was read, which for a GET is at once).
    res.on('close', stop);
    pump();
  });

  app.get('/_grok/changes', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const from = events.resumeSeq(typeof q.since === 'string' ? q.since : undefined);
    if (from === null) return reply.send({ last: events.idOf(events.last), reset: true, changes: [] });
    const end = Math.min(events.last, from + MAX_CHANGES);
    // Streamed as the socket takes it: the answer is built a change at a time, never whole.
    function* body(): Generator<string> {
      let bytes = 0;
      let last = from!;
      yield '{"reset":false,"changes":[';
      for (let s = from! + 1; s <= end; s++) {
        const e = events.at(s);
        if (e === null) break;
        const item = JSON.stringify({ id: events.idOf(e.seq), key: e.key, entry: e.entry });
        if (s > from! + 1 && bytes + item.length > MAX_CHANGES_BYTES) break;
        yield `${s > from! + 1 ? ',' : ''}${item}`;
        bytes += item.length + 1;
        last = e.seq;
      }
      yield `],"more":${last < events.last},"last":${JSON.stringify(events.idOf(last))}}`;
    }
    return reply.type('application/json; charset=utf-8').send(Readable.from(body(), { objectMode: false, highWaterMark: 64 * 1024 }));
  });
}
