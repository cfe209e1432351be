/**
 * grok-pull -o mirroring a test origin with `fsck_cron` and `status_listen = 127.0.0.1:0`, whose
 * grok-fsck runs until the test lets it end (an fsck of a big mirror takes hours), whose cron and
 * refresh timer fire when the test says, and whose clock the test moves on: for the status page,
 * /healthz and /metrics during and after an fsck.
 */
import path from 'node:path';
import { runDaemon, type DaemonDeps } from '../../replica/daemon.js';
import type { FsckResult } from '../../shared/fsck/run.js';
import { Git } from '../../shared/git/index.js';
import { silentLogger } from '../../shared/log.js';
import { makeRepo } from './git.js';
import { startTestOrigin } from './origin.js';
import { replicaConfig } from './replica.js';
import { waitFor } from './status-daemon.js';
import { tmpDir } from './tmp.js';

type T = Parameters<typeof tmpDir>[0];

export async function startFsckDaemon(t: T, keys: readonly string[]) {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  for (const k of keys) makeRepo(path.join(top, k));
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  const config = replicaConfig(mirror, origin.url, 'refresh = 3600\nfeed = no\nfsck_cron = 0 4 * * 0\nstatus_listen = 127.0.0.1:0\n');
  let fireFsck = () => {};
  let tick = () => {};
  const schedule: DaemonDeps['schedule'] = (_expr, job) => ((fireFsck = job), { stop: () => {} });
  const every: DaemonDeps['every'] = (_ms, job) => ((tick = job), { stop: () => {} });
  let fsckCalled = false;
  let release: () => void = () => {};
  const runFsck: DaemonDeps['runFsck'] = async () => {
    fsckCalled = true;
    await new Promise<void>((r) => (release = r));
    return { status: 'done', checked: [...keys], repacked: [], errors: [] } satisfies FsckResult;
  };
  let offset = 0;
  const now = () => Date.now() + offset;
  let url = '';
  const stop = new AbortController();
  const done = runDaemon(config, { purge: false, forcePurge: false }, { git: new Git(), log: silentLogger(), now, schedule, every, runFsck, onStatusListening: (u) => (url = u) }, stop.signal);
  t.teardown(async () => {
    stop.abort();
    release();
    await done;
  });
  await waitFor('the status server', () => url !== '');
  return {
    top,
    mirror,
    origin,
    url,
    now,
    /** Moves the daemon's clock on. */
    advance: (ms: number) => void (offset += ms),
    /** Fires fsck_cron and waits until grok-fsck runs. */
    startFsck: async () => {
      fireFsck();
      await waitFor('grok-fsck to start', () => fsckCalled);
    },
    /** Ends the held grok-fsck (done, no errors). */
    endFsck: () => release(),
    /** Fires the refresh timer. */
    tick: () => tick(),
  };
}
