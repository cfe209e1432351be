/**
 * grok-origin's listening address, checked before anything is written: a port another process holds
 * used to end the start after a first start's manifest walk had written the manifest, with node's bare
 * `listen EADDRINUSE`. The probe binds and lets go (the real listen follows within the same start;
 * a port taken in between still gets the same message), and both say what to do.
 */
import { createServer } from 'node:net';
import { listenError as sharedListenError } from '../../shared/listen-error.js';
import type { Listen } from './settings.js';

const ORIGIN = { command: 'grok-origin', setting: '[origin] listen or --listen' };

/** A listen failure as one line with a hint (shared/listen-error.ts); other errors are returned as they are. */
export function listenError(err: unknown, l: Listen): unknown {
  return sharedListenError(err, l, ORIGIN);
}
/** Throws listenError's message when the TCP address cannot be bound now; a socket path is left to the real listen. */
export async function probeListen(l: Listen): Promise<void> {
  if (l.socket || l.port === 0) return;
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenError(err, l)));
    server.listen({ host: l.host, port: l.port, exclusive: true }, () => server.close(() => resolve()));
  });
}
