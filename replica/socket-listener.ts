/**
 * `[pull] socket`: a unix socket taking manifest paths, one per line (grokmirror's protocol, used by
 * pubsub bridges and the like). Lines are bounded in length and number per connection.
 */
import { existsSync, promises as fsp } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import type { Logger } from '../shared/log.js';

const MAX_LINE = 4096;
const MAX_LINES = 100_000;

async function stale(path: string): Promise<boolean> {
  if (!existsSync(path)) return false;
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.on('connect', () => (c.destroy(), resolve(false)));
    c.on('error', () => resolve(true));
  });
}

export async function listenSocket(path: string, onPath: (p: string) => void, log: Logger): Promise<Server> {
  if (await stale(path)) await fsp.rm(path, { force: true });
  const server = createServer((conn) => {
    let buf = '';
    let lines = 0;
    conn.setEncoding('utf8');
    conn.on('data', (d: string) => {
      buf += d;
      for (let at = buf.indexOf('\n'); at >= 0; at = buf.indexOf('\n')) {
        const line = buf.slice(0, at).trim();
        buf = buf.slice(at + 1);
        if (line !== '' && ++lines <= MAX_LINES) onPath(line);
      }
      if (buf.length > MAX_LINE) {
        log.warn(`socket ${path}: a line longer than ${MAX_LINE} bytes; dropping the connection`);
        conn.destroy();
      }
    });
    conn.on('end', () => {
      if (buf.trim() !== '') onPath(buf.trim());
    });
    conn.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  await fsp.chmod(path, 0o660).catch(() => {});
  log.info(`listening for repository notices on ${path}`);
  return server;
}
