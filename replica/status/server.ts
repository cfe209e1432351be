/** Starting grok-pull -o's status server where `[pull] status_listen` says, and stopping it. */
import { GrokError } from '../../shared/errors.js';
import { listenError } from '../../shared/listen-error.js';
import type { Logger } from '../../shared/log.js';
import { buildStatusApp } from './app.js';
import type { StatusTracker } from './tracker.js';

export interface StatusListen {
  readonly host: string;
  readonly port: number;
}

/** `HOST:PORT` or `[IPv6]:PORT`; anything else is a config error naming the key. */
export function parseStatusListen(text: string, file = 'config'): StatusListen {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]/]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new GrokError('GROK_ERR_CONFIG_VALUE', `${file}: [pull] status_listen: ${JSON.stringify(text)} is not HOST:PORT or [IPv6]:PORT (e.g. 127.0.0.1:8081)`, { value: text });
  }
  return { host: (m[1] ?? m[2])!, port };
}

export interface RunningStatusServer {
  /** Where it listens, with the bound port (status_listen may say port 0). */
  readonly url: string;
  close(): Promise<void>;
}

export async function startStatusServer(listen: StatusListen, tracker: StatusTracker, deps: { log: Logger }): Promise<RunningStatusServer> {
  const app = buildStatusApp(tracker, deps);
  // Before the first pass: nothing has been fetched or written when the address is taken.
  const url = await app.listen({ host: listen.host, port: listen.port }).catch((err: unknown) => {
    throw listenError(err, listen, { command: 'grok-pull -o', setting: '[pull] status_listen' });
  });
  return {
    url,
    // fastify closes idle keep-alive connections itself, so a browser left open does not hold shutdown.
    close: () => app.close(),
  };
}
