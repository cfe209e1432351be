/**
 * A fault-injecting TCP proxy on 127.0.0.1, to put between a replica and its origin: it forwards
 * bytes both ways and, on request, refuses connections (the origin is down), delays every chunk of
 * the responses (a slow origin), trickles them a few bytes at a time (a hostile or sick origin that
 * never quite stops), or cuts a response after N bytes, with a clean close (a truncated
 * download) or a TCP reset. Faults can be limited to requests whose request line matches (the
 * manifest, git-upload-pack, the change feed) and to a number of responses, after which they wear
 * off. HTTP/1.1 is assumed only that far: a chunk from the client that starts with a request line
 * starts a new response.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface FaultRule {
  readonly fault: 'truncate' | 'reset' | 'delay' | 'trickle';
  /** Requests whose request line ("GET /manifest.js.gz HTTP/1.1") matches; every request when absent. */
  readonly match?: RegExp;
  /** truncate, reset: how many bytes of the response get through first. */
  readonly afterBytes?: number;
  /** delay: how long each chunk of the response is held back; trickle: the pause between pieces. */
  readonly delayMs?: number;
  /** trickle: the response goes out this many bytes at a time (default 1). */
  readonly bytes?: number;
  /** How many responses to spoil before the rule wears off (default: every one). A response that ends
   *  before `afterBytes` (a 304, say) gets through whole and does not count. */
  readonly times?: number;
}

export interface FaultStats {
  connections: number;
  /** Request lines seen, in order. */
  readonly requests: string[];
  truncated: number;
  reset: number;
  delayed: number;
  trickled: number;
}

export interface FaultProxy {
  readonly url: string;
  readonly port: number;
  readonly stats: FaultStats;
  /** Where connections go (the origin's port); may change while running. */
  setTarget(port: number): void;
  setRule(rule: FaultRule | null): void;
  /** Stops listening (connections are refused) and cuts every open connection. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

const REQUEST_LINE_RE = /^(?:GET|POST|HEAD|PUT|DELETE|OPTIONS) \S+ HTTP\/1\.[01]/;

export async function startFaultProxy(t: Teardown, targetPort: number): Promise<FaultProxy> {
  let target = targetPort;
  let rule: FaultRule | null = null;
  let used = 0;
  const stats: FaultStats = { connections: 0, requests: [], truncated: 0, reset: 0, delayed: 0, trickled: 0 };
  const open = new Set<Socket>();

  const onConnection = (client: Socket) => {
    stats.connections++;
    const upstream = connect(target, '127.0.0.1');
    open.add(client);
    open.add(upstream);
    // The fault of the response being relayed now (chosen when its request went by), and its bytes so far.
    let current: FaultRule | null = null;
    let sent = 0;
    let queue: Promise<void> = Promise.resolve();
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      const line = REQUEST_LINE_RE.exec(chunk.subarray(0, 512).toString('latin1'))?.[0];
      if (line) {
        stats.requests.push(line);
        sent = 0;
        const r = rule;
        current = r && (!r.match || r.match.test(line)) && (r.times === undefined || used < r.times) ? r : null;
        if (current?.fault === 'delay' || current?.fault === 'trickle') used++;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      const f = current;
      if (!f) {
        client.write(chunk);
        return;
      }
      if (f.fault === 'trickle') {
        stats.trickled++;
        upstream.pause();
        const step = Math.max(1, f.bytes ?? 1);
        for (let at = 0; at < chunk.length; at += step) {
          const piece = chunk.subarray(at, at + step);
          // Once the client has gone, the rest is dropped at once: no timers outlive the connection.
          queue = queue.then(() => (client.destroyed ? undefined : new Promise<void>((resolve) => setTimeout(() => (client.destroyed || client.write(piece), resolve()), f.delayMs ?? 100))));
        }
        queue = queue.then(() => void upstream.resume());
        return;
      }
      if (f.fault === 'delay') {
        stats.delayed++;
        upstream.pause();
        queue = queue.then(
          () =>
            new Promise<void>((resolve) =>
              setTimeout(() => {
                if (!client.destroyed) client.write(chunk);
                upstream.resume();
                resolve();
              }, f.delayMs ?? 100),
            ),
        );
        return;
      }
      const room = (f.afterBytes ?? 0) - sent;
      sent += chunk.length;
      if (room > chunk.length) {
        client.write(chunk);
        return;
      }
      if (room > 0) client.write(chunk.subarray(0, room));
      current = null;
      used++;
      upstream.destroy();
      if (f.fault === 'truncate') {
        stats.truncated++;
        client.end();
      } else {
        stats.reset++;
        client.resetAndDestroy();
      }
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => void queue.then(() => client.end()));
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', () => (open.delete(client), upstream.destroy()));
    upstream.on('close', () => (open.delete(upstream), void queue.then(() => client.destroy())));
  };

  let server: Server = createServer(onConnection);
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        const a = server.address();
        resolve(typeof a === 'object' && a ? a.port : port);
      });
    });
  const port = await listen(0);
  let listening = true;
  const down = async () => {
    if (listening) {
      listening = false;
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of open) s.destroy();
      await closed;
    }
  };
  const up = async () => {
    if (listening) return;
    server = createServer(onConnection);
    await listen(port);
    listening = true;
  };
  t.teardown(down);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats,
    setTarget: (p) => void (target = p),
    setRule: (r) => {
      rule = r;
      used = 0;
    },
    down,
    up,
    close: down,
  };
}
