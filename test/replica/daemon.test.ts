import { createServer, type ServerResponse } from 'node:http';
import { createConnection, type AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import t from 'tap';
import { Git } from '../../shared/git/index.js';
import { silentLogger } from '../../shared/log.js';
import { feedUrl, runDaemon, type DaemonDeps } from '../../replica/daemon.js';
import type { FsckResult, FsckRunOptions } from '../../shared/fsck/run.js';
import { parseSseBlock } from '../../replica/feed-client.js';
import { fsckOk, git, makeRepo, pushCommit } from '../helpers/git.js';
import { startTestOrigin } from '../helpers/origin.js';
import { replicaConfig } from '../helpers/replica.js';
import { tmpDir } from '../helpers/tmp.js';
import { startFeedOrigin } from '../helpers/feed-origin.js';
import { readM, runM } from '../helpers/manifest.js';

const headOf = (repo: string, ref = 'refs/heads/master') => {
  try {
    return git([`--git-dir=${repo}`, 'rev-parse', '--verify', '-q', ref]);
  } catch {
    return '';
  }
};

async function waitFor(what: string, ok: () => boolean, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function startDaemon(t: Parameters<typeof tmpDir>[0], config: ReturnType<typeof replicaConfig>) {
  const stop = new AbortController();
  const done = runDaemon(config, { purge: false, forcePurge: false }, { git: new Git(), log: silentLogger(), now: Date.now }, stop.signal);
  t.teardown(async () => {
    stop.abort();
    await done;
  });
  return { stop, done };
}

t.test('the change feed brings a push to the replica without waiting for a poll', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'a.git'));
  makeRepo(path.join(top, 'b.git'));
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  const config = replicaConfig(mirror, origin.url, 'refresh = 3600\n');
  t.equal(feedUrl(config), `${origin.url}/_grok/events`);
  startDaemon(t, config);
  await waitFor('the initial mirror', () => headOf(path.join(mirror, 'b.git')) !== '');
  await new Promise((r) => setTimeout(r, 300));
  const sha = pushCommit(path.join(top, 'b.git'), { branch: 'live' });
  const pushed = Date.now();
  await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/b.git'] } });
  await waitFor('the pushed branch on the replica', () => headOf(path.join(mirror, 'b.git'), 'refs/heads/live') === sha);
  t.pass(`arrived ${Date.now() - pushed} ms after the push (refresh is an hour)`);
  t.ok(fsckOk(path.join(mirror, 'b.git')).ok);
});

t.test('the socket takes manifest paths and fetches them at once', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'a.git'));
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  const sock = path.join(dir, 'updater.sock');
  const config = replicaConfig(mirror, origin.url, `refresh = 3600\nfeed = no\nsocket = ${sock}\n`);
  startDaemon(t, config);
  await waitFor('the initial mirror', () => headOf(path.join(mirror, 'a.git')) !== '');
  const sha = pushCommit(path.join(top, 'a.git'));
  await new Promise<void>((resolve, reject) => {
    const c = createConnection(sock, () => c.end('/nosuch.git\n/a.git\n'));
    c.on('close', () => resolve());
    c.on('error', reject);
  });
  await waitFor('the socket-triggered fetch', () => headOf(path.join(mirror, 'a.git')) === sha);
  t.pass('fetched');
});

t.test('a dead origin does not kill the daemon; it stops cleanly', async (t) => {
  const dir = tmpDir(t);
  const config = replicaConfig(path.join(dir, 'mirror'), 'http://127.0.0.1:9', 'refresh = 1\n');
  const { stop, done } = startDaemon(t, config);
  let finished = false;
  void done.then(() => (finished = true));
  await new Promise((r) => setTimeout(r, 2500));
  t.notOk(finished, 'still running after failed passes');
  stop.abort();
  await done;
  t.pass('stopped on request');
});

t.test('a broken cron expression is a clear error; SSE parsing', async (t) => {
  const dir = tmpDir(t);
  const config = replicaConfig(path.join(dir, 'mirror'), 'http://127.0.0.1:9', 'recheck_cron = every tuesday\n');
  await t.rejects(runDaemon(config, { purge: false, forcePurge: false }, { git: new Git(), log: silentLogger(), now: Date.now }, new AbortController().signal), {
    code: 'GROK_ERR_CONFIG_VALUE',
    message: /\[pull\] recheck_cron: "every tuesday" is not a cron expression/,
  });
  t.same(parseSseBlock('id: b-3\nevent: change\ndata: {"key":"/a.git"}'), { id: 'b-3', event: 'change', data: '{"key":"/a.git"}' });
  t.equal(parseSseBlock(': keep-alive'), null);
});

/** A manifest server that answers each request only when the test says so: a pull pass held in flight. */
async function heldManifestServer(t: Parameters<typeof tmpDir>[0]) {
  const held: ServerResponse[] = [];
  const waiters: ((res: ServerResponse) => void)[] = [];
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    const w = waiters.shift();
    if (w) w(res);
    else held.push(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    next: (): Promise<ServerResponse> => {
      const res = held.shift();
      return res ? Promise.resolve(res) : new Promise((r) => waiters.push(r));
    },
    /** An empty manifest: the pass completes with nothing to do. */
    answer: (res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/gzip' }).end(gzipSync('{}')),
  };
}

t.test('fsck_cron: the fsck waits for the running pass, runs once for ticks that pile up, and its failure is only logged', async (t) => {
  const dir = tmpDir(t);
  const origin = await heldManifestServer(t);
  const FSCK = '0 4 * * 0';
  const RECHECK = '30 3 * * *';
  const config = replicaConfig(path.join(dir, 'mirror'), origin.url, `refresh = 3600\nfeed = no\nrecheck_cron = ${RECHECK}\nfsck_cron = ${FSCK}\n`);

  const jobs = new Map<string, () => void>();
  const stopped: string[] = [];
  const schedule: DaemonDeps['schedule'] = (expr, job) => {
    jobs.set(expr, job);
    return { stop: () => void stopped.push(expr) };
  };
  const fire = (expr: string) => {
    const job = jobs.get(expr);
    if (!job) throw new Error(`no job scheduled for ${expr}`);
    job();
  };

  const calls: { opts: FsckRunOptions; sameConfig: boolean; realGit: boolean; passLogged: boolean }[] = [];
  let called: () => void = () => {};
  let release: (fail: boolean) => void = () => {};
  const runFsck: DaemonDeps['runFsck'] = async (c, opts, d) => {
    calls.push({ opts, sameConfig: c === config, realGit: d.git instanceof Git, passLogged: logged.some((m) => m.startsWith('pass: ')) });
    called();
    const fail = await new Promise<boolean>((r) => (release = r));
    if (fail) throw new Error('objstore on fire');
    return { status: 'done', checked: ['/a.git'], repacked: [], errors: [] } satisfies FsckResult;
  };
  const nextCall = () => new Promise<void>((r) => (called = r));

  const logged: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logged.push((JSON.parse(line) as { msg: string }).msg) });
  const stop = new AbortController();
  const done = runDaemon(config, { purge: false, forcePurge: false }, { git: new Git(), log, now: Date.now, schedule, runFsck }, stop.signal);
  t.teardown(async () => {
    stop.abort();
    release(false);
    await done;
  });

  const firstPass = await origin.next();
  fire(FSCK);
  fire(FSCK);
  t.equal(calls.length, 0, 'no fsck while the start-up pass is running');
  let fsckStarted = nextCall();
  origin.answer(firstPass);
  await fsckStarted;
  t.same(calls, [{ opts: { force: false, repackOnly: false, connectivityOnly: false, repackAll: null }, sameConfig: true, realGit: true, passLogged: true }], 'one fsck after the pass had finished, for two ticks');

  fire(RECHECK);
  t.equal(origin.requests(), 1, 'no pass starts while the fsck runs');
  release(true);
  const recheck = await origin.next();
  t.equal(origin.requests(), 2, 'the re-check waited for the fsck');
  t.ok(logged.some((m) => /^fsck failed: objstore on fire/.test(m)), 'the failure is logged');
  origin.answer(recheck);

  fsckStarted = nextCall();
  fire(FSCK);
  await fsckStarted;
  t.equal(calls.length, 2, 'the daemon lives on after a failed fsck');
  release(false);
  stop.abort();
  await done;
  t.ok(logged.includes('fsck: 1 checked, 0 repacked, 0 with errors'));
  t.same(stopped.sort(), [RECHECK, FSCK].sort(), 'both cron jobs stopped');
});

t.test('a broken fsck_cron is a clear config error', async (t) => {
  const dir = tmpDir(t);
  const config = replicaConfig(path.join(dir, 'mirror'), 'http://127.0.0.1:9', 'fsck_cron = 61 * * * *\n');
  let scheduled = 0;
  await t.rejects(
    runDaemon(config, { purge: false, forcePurge: false }, { git: new Git(), log: silentLogger(), now: Date.now, schedule: () => (scheduled++, { stop: () => {} }) }, new AbortController().signal),
    { code: 'GROK_ERR_CONFIG_VALUE', message: /\[pull\] fsck_cron: "61 \* \* \* \*" is not a cron expression/ },
  );
  t.equal(scheduled, 0, 'nothing was scheduled');
});

t.test('after a dropped feed the daemon catches up through the feed (Last-Event-ID), with no manifest download; bytes on /metrics', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'a.git'));
  makeRepo(path.join(top, 'b.git'));
  const manifest = path.join(top, 'manifest.js.gz');
  const entryOf = async (key: string) => {
    await runM(top, manifest);
    return (await readM(manifest))[key];
  };
  await runM(top, manifest);
  const served = readFileSync(manifest).length;
  const origin = await startFeedOrigin(t, { '/manifest.js.gz': manifest });
  const mirror = path.join(dir, 'mirror');
  const config = replicaConfig(mirror, top, 'refresh = 3600\nstatus_listen = 127.0.0.1:0\n', `${origin.url}/manifest.js.gz`);
  let status = '';
  const stop = new AbortController();
  const done = runDaemon(config, { purge: false, forcePurge: false }, { git: new Git(), log: silentLogger(), now: Date.now, onStatusListening: (u) => (status = u) }, stop.signal);
  t.teardown(async () => {
    stop.abort();
    await done;
  });
  await waitFor('the initial mirror', () => headOf(path.join(mirror, 'b.git')) !== '');
  await origin.connected(1);
  const first = pushCommit(path.join(top, 'a.git'), { branch: 'live' });
  origin.send(7, '/a.git', await entryOf('/a.git'));
  await waitFor('the first event applied', () => headOf(path.join(mirror, 'a.git'), 'refs/heads/live') === first);
  // The feed drops; a push happens meanwhile; the origin has it in its backlog for the reconnect.
  origin.drop();
  const second = pushCommit(path.join(top, 'b.git'), { branch: 'live' });
  const entry = await entryOf('/b.git');
  await origin.connected(2);
  t.same(origin.connections, ['', '7'], 'the reconnect resumes after the last event seen');
  origin.send(8, '/b.git', entry);
  await waitFor('the missed push applied', () => headOf(path.join(mirror, 'b.git'), 'refs/heads/live') === second);
  t.equal(origin.downloads.get('/manifest.js.gz'), 1, 'the manifest was downloaded once, by the first pass: the gap came through the feed');
  const metrics = await (await fetch(`${status}/metrics`)).text();
  const value = (what: string) => Number(new RegExp(`^grokmirror_replica_downloaded_bytes_total\\{what="${what}"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
  t.equal(value('manifest'), served, 'the manifest bytes downloaded');
  t.ok(value('feed') > 2 * JSON.stringify(entry).length, `the feed bytes downloaded (${value('feed')})`);
  t.ok(fsckOk(path.join(mirror, 'b.git')).ok);
  t.ok(fsckOk(path.join(mirror, 'a.git')).ok);
});

t.test('fsck_cron: an fsck that found errors is followed by a pass that rechecks every repository; a clean one is not', async (t) => {
  const dir = tmpDir(t);
  const origin = await heldManifestServer(t);
  const FSCK = '0 4 * * 0';
  const config = replicaConfig(path.join(dir, 'mirror'), origin.url, `refresh = 3600\nfeed = no\nfsck_cron = ${FSCK}\n`);
  const jobs = new Map<string, () => void>();
  const schedule: DaemonDeps['schedule'] = (expr, job) => {
    jobs.set(expr, job);
    return { stop: () => {} };
  };
  const results: FsckResult['errors'][] = [[], [{ repo: '/a.git', lines: ['missing blob 1234'] }]];
  let fscks = 0;
  const runFsck: DaemonDeps['runFsck'] = async () => {
    fscks++;
    return { status: 'done', checked: ['/a.git'], repacked: [], errors: results.shift() ?? [] } satisfies FsckResult;
  };
  const stop = new AbortController();
  const done = runDaemon(config, { purge: false, forcePurge: false }, { git: new Git(), log: silentLogger(), now: Date.now, schedule, runFsck }, stop.signal);
  t.teardown(async () => {
    stop.abort();
    await done;
  });
  origin.answer(await origin.next());
  await waitFor('nothing pending', () => origin.requests() === 1);
  jobs.get(FSCK)!();
  await waitFor('the clean fsck', () => fscks === 1);
  await new Promise((r) => setTimeout(r, 500));
  t.equal(origin.requests(), 1, 'a clean fsck: no pass follows');
  jobs.get(FSCK)!();
  await waitFor('a pass after the fsck with errors', () => origin.requests() === 2);
  t.equal(fscks, 2);
  t.pass('an fsck with errors: a pass follows at once (it may have marked repositories for a reclone)');
  origin.answer(await origin.next());
});
