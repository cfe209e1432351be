/**
 * A listening socket that cannot be had (grok-origin's listen address, grok-pull -o's status_listen),
 * as one line saying what to do, instead of node's bare `listen EADDRINUSE`.
 */
import { GrokError } from './errors.js';

export interface ListenAddress {
  readonly host?: string;
  readonly port?: number;
  readonly socket?: string;
}

/** Who listens and where that is set: the hints name them. */
export interface ListenOwner {
  /** "grok-origin" */
  readonly command: string;
  /** "[origin] listen or --listen" */
  readonly setting: string;
}

export function shownAddress(l: ListenAddress): string {
  return l.socket ?? (l.host!.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`);
}

/** A listen failure as one line with a hint; other errors are returned as they are. */
export function listenError(err: unknown, l: ListenAddress, owner: ListenOwner): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const where = shownAddress(l);
  const hint =
    code === 'EADDRINUSE'
      ? l.socket
        ? `another ${owner.command} answers on that socket; stop it, or set ${owner.setting} to another path`
        : `another process holds that port (another ${owner.command}? \`ss -ltnp 'sport = :${l.port}'\` names it); stop it, or set ${owner.setting}`
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
