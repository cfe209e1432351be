/**
 * An origin's HTTP side reduced to what a replica daemon reads, on 127.0.0.1, under the test's
 * control: static files (the manifest: Last-Modified, 304) and a change feed (`/_grok/events`) whose
 * events the test sends and whose connections it can drop, recording what each reconnect asked for
 * (Last-Event-ID) and how often each file was downloaded whole.
 */
import { readFileSync, statSync } from 'node:fs';
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export interface FeedOrigin {
  readonly url: string;
  /** Last-Event-ID of each feed connection, in order ('' for none). */
  readonly connections: string[];
  /** Whole downloads (200) per path. */
  readonly downloads: Map<string, number>;
  /** Sends a change event to every open feed connection. */
  send(id: number, key: string, entry: unknown): void;
  /** Closes every open feed connection (a network drop, an origin restart). */
  drop(): void;
  /** Resolves when `n` feed connections have been made. */
  connected(n: number): Promise<void>;
}

export async function startFeedOrigin(t: Teardown, files: Readonly<Record<string, string>>): Promise<FeedOrigin> {
  const open = new Set<ServerResponse>();
  const connections: string[] = [];
  const downloads = new Map<string, number>();
  const waiters: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '').split('?')[0]!;
    if (url === '/_grok/events') {
      connections.push(String(req.headers['last-event-id'] ?? ''));
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.write(': hello\n\n');
      open.add(res);
      res.on('close', () => open.delete(res));
      for (const w of waiters.splice(0)) w();
      return;
    }
    const file = files[url];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    const st = statSync(file);
    const since = Date.parse(req.headers['if-modified-since'] ?? '');
    if (Number.isFinite(since) && Math.floor(st.mtimeMs / 1000) * 1000 <= since) {
      res.writeHead(304).end();
      return;
    }
    downloads.set(url, (downloads.get(url) ?? 0) + 1);
    const body = readFileSync(file);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length, 'last-modified': st.mtime.toUTCString() });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const r of open) r.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections,
    downloads,
    send(id, key, entry) {
      for (const r of open) r.write(`id: ${id}\nevent: change\ndata: ${JSON.stringify({ key, entry })}\n\n`);
    },
    drop() {
      for (const r of open) r.destroy();
      open.clear();
    },
    async connected(n) {
      while (connections.length < n) await new Promise<void>((r) => waiters.push(r));
    },
  };
}
