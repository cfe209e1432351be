/**
 * The write side of every reply has a deadline for progress: a connection holding bytes for its
 * client that the client has not taken for `timeoutMs` is closed, with a log line naming the client
 * and the request. Closing it ends whatever fed the reply (an upload-pack is killed, a feed
 * subscriber dropped), so a client that asks and never reads holds nothing for long. Silence on our
 * side (upload-pack still counting objects, a quiet feed) is no stall: only bytes waiting count.
 *
 * Progress is what the socket has handed to the kernel: `bytesWritten` counts everything written
 * to the socket, `writableLength` what of it is still queued or in flight, so their difference
 * grows exactly when the client makes room by reading.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../../shared/log.js';

interface Watched {
  request: string;
  taken: number;
  since: number;
}

export interface StallWatch {
  /** Connections closed so far for taking nothing. */
  readonly closed: number;
  stop(): void;
}

export function watchStalls(server: Server, opts: { timeoutMs: number; log: Logger; now: () => number }): StallWatch {
  const sockets = new Map<Socket, Watched>();
  let closed = 0;
  server.on('connection', (s: Socket) => {
    sockets.set(s, { request: '(no request yet)', taken: 0, since: opts.now() });
    s.on('close', () => sockets.delete(s));
  });
  server.on('request', (req) => {
    const w = sockets.get(req.socket);
    if (w) w.request = `${req.method} ${String(req.url).slice(0, 200)}`;
  });
  const check = () => {
    const now = opts.now();
    for (const [s, w] of sockets) {
      const taken = s.bytesWritten - s.writableLength;
      if (s.writableLength === 0 || taken !== w.taken) {
        w.taken = taken;
        w.since = now;
        continue;
      }
      if (now - w.since < opts.timeoutMs) continue;
      closed++;
      opts.log.warn(
        { action: 'send-timeout', from: s.remoteAddress },
        `closing the connection of ${s.remoteAddress}: it took no byte of the reply to ${w.request} for ${Math.round((now - w.since) / 1000)} s (${s.writableLength} bytes waiting)`,
      );
      sockets.delete(s);
      s.destroy();
    }
  };
  const timer = setInterval(check, Math.min(5_000, Math.max(100, Math.floor(opts.timeoutMs / 5))));
  timer.unref();
  return {
    get closed() {
      return closed;
    },
    stop: () => clearInterval(timer),
  };
}
