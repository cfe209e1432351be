/**
 * grok-origin's listening address, checked before anything is written: a port another process holds
 * used to end the start after a first start's manifest walk had written the manifest, with node's bare
 * `listen EADDRINUSE`. The probe binds and lets go (the real listen follows within the same start;
 * a port taken in between still gets the same message), and both say what to do.
 */
import { createServer } from 'node:net';
import { GrokError } from '../../shared/errors.js';
import type { Listen } from './settings.js';

function shown(l: Listen): string {
  return l.socket ?? (l.host!.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`);
}

/** A listen failure as one line with a hint; other errors are returned as they are. */
export function listenError(err: unknown, l: Listen): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const where = shown(l);
  const hint =
    code === 'EADDRINUSE'
      ? l.socket
        ? 'another grok-origin answers on that socket; stop it, or set [origin] listen or --listen to another path'
        : `another process holds that port (another grok-origin? \`ss -ltnp 'sport = :${l.port}'\` names it); stop it, or set [origin] listen or --listen`
      : code === 'EACCES'
        ? l.socket
          ? 'this user may not create the socket there'
          : 'ports below 1024 need root or CAP_NET_BIND_SERVICE (AmbientCapabilities= in the unit); or use a port above 1023'
        : code === 'EADDRNOTAVAIL'
          ? 'no interface of this host has that address'
          : null;
  if (hint === null) return err;
  return new GrokError('GROK_ERR_LISTEN', `cannot listen on ${where} (${code}): ${hint}`, { listen: where, errno: code }, { cause: err });
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
