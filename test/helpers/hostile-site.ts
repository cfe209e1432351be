/**
 * A hostile origin for replica tests: a tiny node:http site on 127.0.0.1 that serves whatever manifest
 * a test sets (at /manifest.js and /manifest.js.gz) and answers git smart HTTP for ANY path by relaying
 * to a real grok-origin: a key the real origin lists goes to itself, any other to /good.git (or
 * `fallback`). The worst case: an origin that hands out real repository data for whatever it lists.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Served {
  body: Buffer;
  headers?: Record<string, string>;
}

export interface HostileSite {
  readonly url: string;
  serve(s: Served): void;
}

/**
 * The hostile site: the manifest a case sets at /manifest.js and /manifest.js.gz, and git smart HTTP
 * for any path, relayed to the real origin: a key the real origin lists goes to itself, any other to /good.git.
 */
export async function startHostileSite(
  t: { teardown(fn: () => Promise<void>): void },
  originUrl: string,
  realKeys: ReadonlySet<string>,
  fallback = '/good.git',
): Promise<HostileSite> {
  let current: Served = { body: Buffer.from('{}') };
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    const p = url.split('?')[0]!;
    if (p === '/manifest.js' || p === '/manifest.js.gz') {
      res.writeHead(200, { 'content-length': String(current.body.length), ...current.headers });
      res.end(current.body);
      return;
    }
    const m = /^(.*?)(\/info\/refs|\/git-upload-pack)$/.exec(p);
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    let key = '';
    try {
      key = decodeURIComponent(m[1]!);
    } catch {
      // relay to /good.git
    }
    const target = realKeys.has(key) ? m[1]! : fallback;
    const headers = { ...req.headers };
    delete headers.host;
    const up = httpRequest(`${originUrl}${target}${m[2]}${url.slice(p.length)}`, { method: req.method, headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.unref();
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, serve: (s) => (current = s) };
}

