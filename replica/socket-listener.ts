/**
 * `[pull] socket`: a unix socket taking manifest paths, one per line (grokmirror's protocol, used by
 * pubsub bridges and the like). Lines are bounded in length and number per connection.
 */
import { promises as fsp } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { GrokError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';

const MAX_LINE = 4096;
const MAX_LINES = 100_000;

/**
 * Whether a socket left at `path` by a daemon that died may be removed: only a socket nobody answers
 * on. Anything else at that path (a file, a directory, a symlink) is not ours to delete: the config
 * names the wrong path, and `where` ("file:line: [pull] socket") says which line.
 */
async function stale(path: string, where: string): Promise<boolean> {
  const st = await fsp.lstat(path).catch(() => null);
  if (!st) return false;
  if (!st.isSocket()) {
    const what = st.isSymbolicLink() ? 'a symlink' : st.isDirectory() ? 'a directory' : 'a file that is not a socket';
    throw new GrokError('GROK_ERR_CONFIG_VALUE', `${where}: ${path} is ${what}; refusing to replace it with grok-pull's socket`, { path });
  }
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.on('connect', () => (c.destroy(), resolve(false)));
    c.on('error', () => resolve(true));
  });
}

export async function listenSocket(path: string, onPath: (p: string) => void, log: Logger, where = '[pull] socket'): Promise<Server> {
  if (await stale(path, where)) await fsp.rm(path, { force: true });
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
