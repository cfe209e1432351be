/**
 * Issue 23 item 13: lag while the origin is unreachable. A grok-pull -o daemon follows an origin's
 * change feed through a proxy; the proxy goes down (the origin and its feed are gone for the
 * replica), a push lands at the origin meanwhile. The replica has heard of nothing, yet it cannot
 * claim to be in sync: its lag must grow from the last confirmed contact, /status.json and /metrics
 * must say the feed is not connected, and the lost feed must be logged as a warning. When the
 * proxy comes back, the feed reconnects, the push is applied and lag returns to 0.
 */
import path from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { runDaemon } from '../../replica/daemon.js';
import type { StatusSnapshot } from '../../replica/status/tracker.js';
import { Git } from '../../shared/git/index.js';
import { CaseTable } from '../helpers/case-table.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { fsckOk, gitDir, makeRepo, pushCommit } from '../helpers/git.js';
import { startTestOrigin } from '../helpers/origin.js';
import { replicaConfig } from '../helpers/replica.js';
import { waitFor } from '../helpers/status-daemon.js';
import { tmpDir } from '../helpers/tmp.js';

const table = new CaseTable('honest-lag', 'Lag while the origin or its feed is down');

t.test('the origin and its feed go away, a push is outstanding: lag grows, the loss is a warning; back: in sync', async (t) => {
  const dir = tmpDir(t, 'grok-honest-lag-');
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'a.git'), { commits: 2 });
  const origin = await startTestOrigin(t, top);
  const proxy = await startFaultProxy(t, Number(new URL(origin.url).port));
  const mirror = path.join(dir, 'mirror');
  // Polls are rare: what the replica knows comes from the feed, as on a well-run replica.
  const config = replicaConfig(mirror, proxy.url, 'refresh = 3600\nretries = 1\nstatus_listen = 127.0.0.1:0\n');
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l) as { level: number; msg: string }) });
  const abort = new AbortController();
  let url = '';
  const done = runDaemon(config, { purge: false, forcePurge: false }, { git: new Git(), log, now: Date.now, onStatusListening: (u) => (url = u) }, abort.signal);
  t.teardown(() => (abort.abort(), done));
  await waitFor('the status server', () => url !== '');
  const snap = async () => (await (await fetch(new URL('/status.json', url))).json()) as StatusSnapshot;
  const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(new URL('/metrics', url))).text())?.[1]);

  await waitFor('the first pass and the feed', async () => (await snap()).last_full_pass_at !== null && lines.some((l) => /following the change feed/.test(l.msg)), 60_000);
  const before = await snap();
  t.ok(table.add('feed connected, first pass done', 'lag 0, in sync', `lag ${before.lag_seconds} s, feed ${before.feed}`, before.lag_seconds === 0 && before.behind_since === null), 'in sync');

  await proxy.down();
  const downAt = Date.now();
  const pushed = pushCommit(path.join(top, 'a.git'));
  await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/a.git'] } });
  await waitFor('three seconds of outage', () => Date.now() - downAt > 3000);
  const during = await snap();
  const lagMetric = await metric('grokmirror_replica_lag_seconds');
  const page = await (await fetch(url)).text();
  const sinceDown = (Date.now() - downAt) / 1000;
  const warned = lines.filter((l) => l.level === 40 && /change feed/.test(l.msg));
  t.ok(
    table.add(
      'proxy down 3 s, a push outstanding at the origin',
      'lag grows from the last contact (the outage, plus up to one 15 s keep-alive); feed "disconnected"; the metric agrees; the page does not say in sync',
      `lag ${during.lag_seconds.toFixed(1)} s after ${sinceDown.toFixed(1)} s down; feed ${during.feed}; metric ${lagMetric}; headline ${/id="state">([^<]*)</.exec(page)?.[1]}`,
      during.lag_seconds >= 2.5 && during.lag_seconds <= sinceDown + 16 && during.feed === 'disconnected' && lagMetric >= 2 && !/id="state">In sync</.test(page),
    ),
    'lag grows',
  );
  t.ok(table.add('the lost feed in the log', 'a warning (level 40) naming the change feed', warned.length > 0 ? `warning: ${warned[0]!.msg}` : `no warning; info lines: ${lines.filter((l) => /change feed/.test(l.msg)).map((l) => `${l.level} ${l.msg}`).join(' | ')}`, warned.length > 0), 'warned');

  await proxy.up();
  await waitFor('the push applied and lag back to 0', async () => {
    const s = await snap();
    return s.feed === 'connected' && s.lag_seconds === 0 && gitDir(path.join(mirror, 'a.git'), ['rev-parse', 'refs/heads/master']) === pushed;
  }, 90_000);
  const after = await snap();
  t.ok(table.add('proxy back', 'the feed reconnects, the push is applied, lag 0', `lag ${after.lag_seconds} s, feed ${after.feed}, a.git at the pushed commit`, after.lag_seconds === 0), 'back in sync');
  t.ok(fsckOk(path.join(mirror, 'a.git')).ok, 'git fsck');
});

t.teardown(() => {
  table.write('grok-pull -o in process with refresh = 3600: everything it learns comes through the change feed, behind a fault proxy.');
});
