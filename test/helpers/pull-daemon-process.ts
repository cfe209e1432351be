/**
 * grok-origin and grok-pull -o as installed (dist/bin), each a real process: the origin serves a
 * toplevel of test repositories, the daemon mirrors it with `status_listen = 127.0.0.1:0`. For tests
 * of what an operator sees from the outside (the status page in a browser, /metrics as Prometheus
 * scrapes it). A repository is made to fail for real as in status-daemon.ts: removed from the
 * origin's disk (it stays in the manifest) and named on the daemon's socket.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN } from './fixture.js';
import { makeRepo } from './git.js';
import { spawnKillable } from './killable.js';
import { startOriginProcess, type OriginProcess } from './origin-process.js';
import { tmpDir } from './tmp.js';

type T = Parameters<typeof tmpDir>[0];

export interface PullDaemonProcess {
  readonly origin: OriginProcess;
  /** The daemon's status server, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  readonly conf: string;
  get(p: string): Promise<string>;
  breakRepo(key: string): Promise<void>;
  stderr(): string;
}

/** `userinfo`: credentials the replica's config puts in the origin's URL (the origin asks for none). */
export async function startPullDaemonProcess(t: T, keys: readonly string[], opts: { userinfo?: string } = {}): Promise<PullDaemonProcess> {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  for (const k of keys) makeRepo(path.join(top, k));
  const originConf = path.join(dir, 'origin.conf');
  writeFileSync(originConf, `[core]\ntoplevel = ${top}\nmanifest = ${top}/manifest.js.gz\n[origin]\nlisten = 127.0.0.1:0\nwrite_delay_ms = 5\n`);
  const origin = await startOriginProcess(originConf, { t });
  const mirror = path.join(dir, 'mirror');
  const sock = path.join(dir, 'updater.sock');
  const site = opts.userinfo ? origin.url.replace('://', `://${opts.userinfo}@`) : origin.url;
  const conf = path.join(dir, 'mirror.conf');
  // One attempt per repository: a failing fetch is not retried with waits in between.
  writeFileSync(
    conf,
    `[core]\ntoplevel = ${mirror}\nmanifest = ${mirror}/manifest.js.gz\nlog = ${dir}/pull.log\n[remote]\nsite = ${site}\nmanifest = ${site}/manifest.js.gz\n` +
      `[pull]\nprojectslist = ${mirror}/projects.list\nrefresh = 3600\nretries = 1\nsocket = ${sock}\nstatus_listen = 127.0.0.1:0\n`,
  );
  const proc = spawnKillable(BIN.pull, ['-o', '-v', '-c', conf]);
  t.teardown(async () => {
    if (!proc.exited()) proc.child.kill('SIGTERM');
    const gone = await Promise.race([proc.ended.then(() => true), sleep(10_000).then(() => false)]);
    if (!gone) proc.kill('group');
  });
  const until = Date.now() + 60_000;
  let m: RegExpExecArray | null;
  while (!(m = /status page on (http:\/\/\S+)/.exec(proc.stderr()))) {
    if (proc.exited()) throw new Error(`grok-pull -o exited: ${proc.stderr()}`);
    if (Date.now() > until) throw new Error('grok-pull -o did not start its status server in a minute');
    await sleep(20);
  }
  const url = m[1]!;
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
  return { origin, url, conf, get, breakRepo, stderr: () => proc.stderr() };
}
