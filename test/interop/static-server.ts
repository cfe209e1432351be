/**
 * A plain static file server on 127.0.0.1, the way grokmirror origins publish their manifest (any
 * httpd): the file's bytes as they are, Last-Modified from its mtime, 304 for If-Modified-Since.
 */
import { readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export async function serveFiles(t: Teardown, files: Readonly<Record<string, string>>): Promise<string> {
  const server = http.createServer((req, res) => {
    const file = files[(req.url ?? '').split('?')[0]!];
    if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404).end();
      return;
    }
    const st = statSync(file);
    const since = Date.parse(req.headers['if-modified-since'] ?? '');
    if (Number.isFinite(since) && Math.floor(st.mtimeMs / 1000) * 1000 <= since) {
      res.writeHead(304).end();
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length, 'last-modified': st.mtime.toUTCString() });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
