import { createConnection } from 'node:net';
import path from 'node:path';
import t from 'tap';
import { Git } from '../../shared/git/index.js';
import { silentLogger } from '../../shared/log.js';
import { feedUrl, runDaemon } from '../../replica/daemon.js';
import { parseSseBlock } from '../../replica/feed-client.js';
import { fsckOk, git, makeRepo, pushCommit } from '../helpers/git.js';
import { startTestOrigin } from '../helpers/origin.js';
import { replicaConfig } from '../helpers/replica.js';
import { tmpDir } from '../helpers/tmp.js';

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
