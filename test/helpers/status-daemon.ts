/**
 * A grok-pull -o daemon with `status_listen = 127.0.0.1:0` mirroring a test origin, for the status
 * page's end-to-end tests, and a way to make one of its repositories fail for real: the repository
 * is removed from the origin's disk (it stays in the manifest) and named on the daemon's socket, so
 * the fetch finds nothing at the origin.
 */
import { rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import path from 'node:path';
import { runDaemon } from '../../replica/daemon.js';
import { Git } from '../../shared/git/index.js';
import { silentLogger } from '../../shared/log.js';
import { makeRepo } from './git.js';
import { startTestOrigin } from './origin.js';
import { replicaConfig } from './replica.js';
import { tmpDir } from './tmp.js';

type T = Parameters<typeof tmpDir>[0];

export async function waitFor(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface StatusDaemon {
  /** The status server, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  readonly mirror: string;
  get(p: string): Promise<string>;
  /** Removes `key` from the origin's disk and asks the daemon to fetch it. */
  breakRepo(key: string): Promise<void>;
  /** Stops the daemon (as SIGTERM would) and waits for it. */
  stop(): Promise<void>;
}

export async function startStatusDaemon(t: T, keys: readonly string[]): Promise<StatusDaemon> {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  for (const k of keys) makeRepo(path.join(top, k));
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  const sock = path.join(dir, 'updater.sock');
  // One attempt per repository: a failing fetch is not retried with waits in between.
  const config = replicaConfig(mirror, origin.url, `refresh = 3600\nretries = 1\nsocket = ${sock}\nstatus_listen = 127.0.0.1:0\n`);
  const abort = new AbortController();
  let url = '';
  const done = runDaemon(config, { purge: false, forcePurge: false }, { git: new Git(), log: silentLogger(), now: Date.now, onStatusListening: (u) => (url = u) }, abort.signal);
  let stopped: Promise<void> | null = null;
  const stop = () => (stopped ??= (abort.abort(), done));
  t.teardown(stop);
  await waitFor('the status server', () => url !== '');
  const get = async (p: string) => {
    const res = await fetch(new URL(p, url));
    if (!res.ok) throw new Error(`GET ${p}: ${res.status}`);
    return res.text();
  };
  const breakRepo = async (key: string) => {
    rmSync(path.join(top, key), { recursive: true, force: true });
    await new Promise<void>((resolve, reject) => {
      const c = createConnection(sock, () => c.end(`${key}\n`));
      c.on('close', () => resolve());
      c.on('error', reject);
    });
  };
  return { url, mirror, get, breakRepo, stop };
}
