import path from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { runDaemon } from '../../replica/daemon.js';
import { guardEvents, type PassSummary, type RepoDone } from '../../replica/events.js';
import { buildStatusApp } from '../../replica/status/app.js';
import { escapeHtml, html } from '../../replica/status/html.js';
import { formatBytes, formatDuration, renderStatusPage } from '../../replica/status/page.js';
import { parseStatusListen } from '../../replica/status/server.js';
import { ACTIVITY_SIZE, StatusTracker, type StatusSnapshot } from '../../replica/status/tracker.js';
import { Git, GitError, splitGitMessage } from '../../shared/git/index.js';
import { silentLogger } from '../../shared/log.js';
import { replicaConfig } from '../helpers/replica.js';
import { startStatusDaemon, waitFor } from '../helpers/status-daemon.js';
import { tmpDir } from '../helpers/tmp.js';

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

/** A tracker on a clock the steps move by hand, following a connected change feed (so lag is known changes only). */
function fakeTracker() {
  let now = T0;
  const tracker = new StatusTracker({ now: () => now, refreshSeconds: 900, feed: true });
  tracker.feedConnected(true);
  return { tracker, tick: (ms: number) => void (now += ms) };
}

const repo = (key: string, over: Partial<RepoDone> = {}): RepoDone => ({ key, op: 'update', result: 'updated', ok: true, ms: 120, bytes: 0, ...over });
const failed = (key: string, error = 'fatal: could not read from remote repository'): RepoDone => ({ key, op: 'update', result: 'failed', ok: false, error, ms: 80 });
const summary = (kind: PassSummary['kind'], status: PassSummary['status'], over: Partial<PassSummary> = {}): PassSummary => ({
  kind,
  status,
  ms: 1500,
  cloned: 0,
  updated: 0,
  purged: 0,
  deferred: 0,
  failed: 0,
  ...over,
});

type Step =
  | ['tick', number]
  | ['notice', string | null]
  | ['queue', number]
  | ['start', 'full' | 'targeted']
  | ['check', 'unchanged' | 'fetched' | 'failed']
  | ['plan', number]
  | ['repo', RepoDone]
  | ['done', PassSummary];

function run(steps: readonly Step[]): StatusSnapshot {
  const { tracker, tick } = fakeTracker();
  const ev = tracker.events;
  for (const s of steps) {
    if (s[0] === 'tick') tick(s[1]);
    else if (s[0] === 'notice') tracker.noticed(s[1]);
    else if (s[0] === 'queue') tracker.setQueueDepth(s[1]);
    else if (s[0] === 'start') ev.onPassStart({ kind: s[1] });
    else if (s[0] === 'check') ev.onManifestChecked(s[1] === 'failed' ? { status: 'failed', error: 'connect ECONNREFUSED 127.0.0.1:9' } : { status: s[1] });
    else if (s[0] === 'plan') ev.onPlan({ kind: 'full', total: s[1], purge: 0 });
    else if (s[0] === 'repo') ev.onRepoDone(s[1]);
    else ev.onPassDone(s[1]);
  }
  return tracker.snapshot();
}

const counts = (repos: RepoDone[]) => {
  const n = (r: RepoDone['result']) => repos.filter((x) => x.result === r).length;
  return { cloned: n('cloned'), updated: n('updated'), deferred: n('deferred'), failed: n('failed') };
};
/** A full pass that read a changed manifest and worked on `repos`. */
const fullPass = (...repos: RepoDone[]): Step[] => [['start', 'full'], ['check', 'fetched'], ['plan', repos.length], ...repos.map((r): Step => ['repo', r]), ['done', summary('full', 'done', { held: 7, ...counts(repos) })]];
const targetedPass = (...repos: RepoDone[]): Step[] => [['start', 'targeted'], ['plan', repos.length], ...repos.map((r): Step => ['repo', r]), ['done', summary('targeted', 'done', counts(repos))]];

t.test('tracker derivations', async (t) => {
  const table: { name: string; steps: Step[]; want: Partial<Record<keyof StatusSnapshot, unknown>> }[] = [
    { name: 'fresh: in sync, nothing known yet', steps: [], want: { lag_seconds: 0, behind_since: null, repos: null, failing_repos: 0, queue: 0, last_manifest_check: null, working: null, since_full_pass_seconds: 0 } },
    { name: 'a notice not yet applied is lag', steps: [['notice', '/a.git'], ['tick', 5000]], want: { lag_seconds: 5, behind_since: T0 / 1000 } },
    { name: 'the oldest unapplied notice counts', steps: [['notice', '/a.git'], ['tick', 2000], ['notice', '/b.git'], ['tick', 3000]], want: { lag_seconds: 5 } },
    { name: 'a second notice for the same repository keeps the first time', steps: [['notice', '/a.git'], ['tick', 2000], ['notice', '/a.git'], ['tick', 1000]], want: { lag_seconds: 3 } },
    { name: 'a targeted pass that started after the notice applies it', steps: [['notice', '/a.git'], ['tick', 1000], ...targetedPass(repo('/a.git'))], want: { lag_seconds: 0, behind_since: null } },
    { name: 'a notice for a repository needing no work is applied when its pass ends', steps: [['notice', '/a.git'], ['tick', 1000], ...targetedPass()], want: { lag_seconds: 0 } },
    { name: 'a notice arriving during a pass waits for the next', steps: [['start', 'targeted'], ['tick', 1000], ['notice', '/b.git'], ['tick', 1000], ['plan', 0], ['done', summary('targeted', 'done')], ['tick', 500]], want: { lag_seconds: 1.5 } },
    { name: 'a failed pass applies nothing', steps: [['notice', '/a.git'], ['start', 'targeted'], ['tick', 2000], ['done', summary('targeted', 'failed', { error: 'EACCES' })]], want: { lag_seconds: 2 } },
    { name: 'a changed manifest is lag from the pass start while the pass runs', steps: [['start', 'full'], ['tick', 1000], ['check', 'fetched'], ['plan', 10], ['repo', repo('/a.git')], ['tick', 2000]], want: { lag_seconds: 3, working: { kind: 'full', since: T0 / 1000, total: 10, done: 1 } } },
    { name: 'the full pass ends: in sync, counted, repos held', steps: [...fullPass(repo('/a.git')), ['tick', 4000]], want: { lag_seconds: 0, working: null, repos: 7, last_full_pass_at: T0 / 1000, since_full_pass_seconds: 4 } },
    { name: 'a full pass that finds the manifest unchanged leaves repository notices to their own pass', steps: [['notice', '/a.git'], ['start', 'full'], ['check', 'unchanged'], ['done', summary('full', 'unchanged')], ['tick', 1000]], want: { lag_seconds: 1 } },
    { name: 'a full pass that read a new manifest applies earlier notices', steps: [['notice', '/a.git'], ['tick', 1000], ...fullPass()], want: { lag_seconds: 0 } },
    { name: 'a feed reset is lag until a full pass, not a targeted one', steps: [['notice', null], ['tick', 4000], ...targetedPass(repo('/x.git'))], want: { lag_seconds: 4 } },
    { name: 'a feed reset applied by a full pass', steps: [['notice', null], ['tick', 4000], ['start', 'full'], ['check', 'unchanged'], ['done', summary('full', 'unchanged')]], want: { lag_seconds: 0 } },
    { name: 'a failing manifest check keeps a known change pending', steps: [['notice', null], ['start', 'full'], ['check', 'failed'], ['done', summary('full', 'failed', { error: 'connect ECONNREFUSED' })], ['tick', 9000]], want: { lag_seconds: 9, last_manifest_check: { at: T0 / 1000, status: 'failed', error: 'connect ECONNREFUSED 127.0.0.1:9' } } },
    { name: 'a failed update is failing, not lag', steps: [['notice', '/a.git'], ['tick', 1000], ...targetedPass(failed('/a.git')), ['tick', 1000]], want: { lag_seconds: 0, failing_repos: 1 } },
    { name: 'an update that works clears the failure', steps: [...targetedPass(failed('/a.git')), ...targetedPass(repo('/a.git'))], want: { failing_repos: 0 } },
    { name: 'a full pass that read a new manifest and left a failing repository alone clears it', steps: [...targetedPass(failed('/gone.git')), ...fullPass(repo('/other.git'))], want: { failing_repos: 0 } },
    { name: 'an unchanged manifest keeps failures', steps: [...targetedPass(failed('/a.git')), ['start', 'full'], ['check', 'unchanged'], ['done', summary('full', 'unchanged')]], want: { failing_repos: 1 } },
    { name: 'a repository locked elsewhere is not failing', steps: targetedPass(repo('/a.git', { result: 'deferred', ok: false, error: 'locked' })), want: { failing_repos: 0 } },
    { name: 'bytes add up; counts by result', steps: fullPass(repo('/a.git', { bytes: 100 }), repo('/b.git', { op: 'init', result: 'cloned', bytes: 50 }), failed('/c.git'), repo('/d.git', { result: 'fixed', bytes: undefined })), want: { bytes_fetched: 150, repo_updates: { cloned: 1, updated: 1, fixed: 1, failed: 1, deferred: 0 } } },
    { name: 'passes and checks are counted by kind and result', steps: [...fullPass(), ['start', 'full'], ['check', 'unchanged'], ['done', summary('full', 'unchanged')], ...targetedPass()], want: { passes: { full: { done: 1, unchanged: 1, failed: 0 }, targeted: { done: 1, unchanged: 0, failed: 0 } }, manifest_checks: { unchanged: 1, fetched: 1, failed: 0 } } },
    { name: 'queue depth is what the daemon says', steps: [['queue', 3]], want: { queue: 3 } },
    { name: 'no full pass yet: time since start', steps: [['tick', 10_000], ...targetedPass()], want: { since_full_pass_seconds: 10, last_full_pass_at: null } },
  ];
  for (const row of table) t.match(run(row.steps), row.want, row.name);
});

t.test('lag counts the time since the last confirmed contact when the feed is not connected', async (t) => {
  const make = (feed: boolean) => {
    let now = T0;
    const tracker = new StatusTracker({ now: () => now, refreshSeconds: 900, feed });
    return { tracker, tick: (ms: number) => void (now += ms), ev: tracker.events };
  };
  const poll = make(false);
  t.match(poll.tracker.snapshot(), { lag_seconds: 0, feed: 'none', last_contact_at: null, contact_overdue: false }, 'fresh');
  poll.tick(5000);
  t.match(poll.tracker.snapshot(), { lag_seconds: 5, behind_since: null }, 'no contact yet: since start');
  poll.ev.onManifestChecked({ status: 'unchanged' });
  poll.tick(2000);
  t.match(poll.tracker.snapshot(), { lag_seconds: 2, last_contact_at: T0 / 1000 + 5 }, 'an answered check is contact');
  poll.ev.onManifestChecked({ status: 'failed', error: 'connect ECONNREFUSED' });
  poll.tick(3000);
  t.match(poll.tracker.snapshot(), { lag_seconds: 5, last_contact_at: T0 / 1000 + 5 }, 'a failed check is not');
  poll.tick(960_000 - 5000);
  t.match(poll.tracker.snapshot(), { lag_seconds: 960, contact_overdue: false }, 'refresh + 60 s: not overdue yet');
  poll.tick(1000);
  t.match(poll.tracker.snapshot(), { lag_seconds: 961, contact_overdue: true }, 'past refresh + 60 s: overdue');

  const fed = make(true);
  t.match(fed.tracker.snapshot(), { feed: 'disconnected' }, 'a feed not connected yet');
  fed.tick(1000);
  fed.tracker.feedConnected(true);
  fed.tick(50_000);
  t.match(fed.tracker.snapshot(), { lag_seconds: 0, feed: 'connected', last_contact_at: T0 / 1000 + 51 }, 'connected: contact is now');
  fed.tracker.feedConnected(false);
  fed.tick(7000);
  t.match(fed.tracker.snapshot(), { lag_seconds: 7, feed: 'disconnected', last_contact_at: T0 / 1000 + 51 }, 'lost: lag from the loss');
  fed.tracker.noticed('/a.git');
  fed.tick(1000);
  t.match(fed.tracker.snapshot(), { lag_seconds: 8 }, 'the larger of known changes and time without contact');
  fed.tracker.feedConnected(true);
  fed.tracker.feedConnected(false, T0 + 40_000);
  t.match(fed.tracker.snapshot(), { lag_seconds: 19, last_contact_at: T0 / 1000 + 40 }, 'lost: contact ended when the feed last sent anything');
  fed.tracker.feedMissing();
  t.match(fed.tracker.snapshot(), { feed: 'none' }, 'an origin without a feed');
});

t.test('failing repositories keep their first failure time and count; most recent first', async (t) => {
  const s = run([...targetedPass(failed('/a.git', 'first')), ['tick', 1000], ...targetedPass(failed('/b.git')), ['tick', 1000], ...targetedPass(failed('/a.git', 'second'))]);
  t.same(
    s.failing.map((f) => [f.key, f.error, f.failures, f.since, f.at]),
    [
      ['/a.git', 'second', 2, T0 / 1000, T0 / 1000 + 2],
      ['/b.git', 'fatal: could not read from remote repository', 1, T0 / 1000 + 1, T0 / 1000 + 1],
    ],
  );
});

t.test('recent activity keeps the last ones, newest first, and skips unchanged passes', async (t) => {
  const many = Array.from({ length: ACTIVITY_SIZE + 10 }, (_, i) => repo(`/r${i}.git`));
  const s = run([...targetedPass(...many), ['start', 'full'], ['check', 'unchanged'], ['done', summary('full', 'unchanged')]]);
  t.equal(s.activity.length, ACTIVITY_SIZE);
  t.match(s.activity[0], { what: 'notice pass', ok: true, detail: `${ACTIVITY_SIZE + 10} updated` }, 'the pass, from its summary');
  t.match(s.activity[1], { what: 'updated', key: `/r${ACTIVITY_SIZE + 9}.git`, seconds: 0.12 });
  t.match(run(fullPass(repo('/a.git'), failed('/b.git'))).activity, [
    { what: 'full pass', ok: false, detail: '1 updated, 1 failed' },
    { what: 'failed', ok: false, key: '/b.git', detail: 'fatal: could not read from remote repository' },
    { what: 'updated', ok: true, key: '/a.git', bytes: 0 },
  ]);
  t.match(run(targetedPass()).activity, [{ what: 'notice pass', detail: 'nothing to do' }]);
});

t.test('an observer that throws never fails the pass', async (t) => {
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push((JSON.parse(l) as { msg: string }).msg) });
  const seen: string[] = [];
  const ev = guardEvents({ onPlan: () => { throw new Error('boom'); }, onRepoDone: (r) => void seen.push(r.key) }, log);
  t.doesNotThrow(() => ev.onPlan({ kind: 'full', total: 1, purge: 0 }));
  t.doesNotThrow(() => ev.onPassDone(summary('full', 'done')), 'absent callbacks are no-ops');
  ev.onRepoDone(repo('/a.git'));
  t.same(seen, ['/a.git']);
  t.same(lines, ['a pull-event observer failed in onPlan: boom']);
  t.doesNotThrow(() => guardEvents(undefined, log).onRepoDone(repo('/a.git')));
});

t.test('status_listen: HOST:PORT or [IPv6]:PORT, anything else a config error', async (t) => {
  t.same(parseStatusListen('127.0.0.1:8081'), { host: '127.0.0.1', port: 8081 });
  t.same(parseStatusListen('[::1]:0'), { host: '::1', port: 0 });
  t.same(parseStatusListen('mirror.example.org:9100'), { host: 'mirror.example.org', port: 9100 });
  for (const bad of ['8081', 'localhost', ':8081', '127.0.0.1:', '127.0.0.1:99999', '::1:80', '/run/grok.sock', 'http://127.0.0.1:8081', 'a b:1']) {
    t.throws(() => parseStatusListen(bad, 'replica.conf'), { code: 'GROK_ERR_CONFIG_VALUE', message: `replica.conf: [pull] status_listen: ${JSON.stringify(bad)} is not HOST:PORT` }, bad);
  }
  const config = replicaConfig(path.join(tmpDir(t), 'mirror'), 'http://127.0.0.1:9', 'status_listen = 8081\n');
  await t.rejects(runDaemon(config, { purge: false, forcePurge: false }, { git: new Git(), log: silentLogger(), now: Date.now }, new AbortController().signal), {
    code: 'GROK_ERR_CONFIG_VALUE',
    message: /\[pull\] status_listen: "8081" is not HOST:PORT/,
  });
});

t.test('html escapes every value; formats', async (t) => {
  t.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  t.equal(html`<p>${'<b>'}${html`<i>${'&'}</i>`}${[1, '<', null]}${undefined}</p>`.text, '<p>&lt;b&gt;<i>&amp;</i>1&lt;</p>');
  t.same([0, 59.4, 61, 3600 * 5 + 120, 86400 * 2 + 7200].map(formatDuration), ['0s', '59s', '1m 01s', '5h 02m', '2d 02h']);
  t.same([0, 1023, 1536, 50 * 1024 * 1024, 3 * 1024 ** 4].map(formatBytes), ['0 B', '1023 B', '1.5 KiB', '50 MiB', '3.0 TiB']);
});

/** A tracker fed a realistic history, with a hostile repository key and error message. */
function fedTracker() {
  const { tracker, tick } = fakeTracker();
  const ev = tracker.events;
  tracker.setHeld(3);
  ev.onPassStart({ kind: 'full' });
  ev.onManifestChecked({ status: 'fetched' });
  ev.onPlan({ kind: 'full', total: 3, purge: 0 });
  ev.onRepoDone(repo('/a.git', { op: 'init', result: 'cloned', bytes: 1000 }));
  ev.onRepoDone(repo('/b.git', { bytes: 24 }));
  ev.onRepoDone(failed('/<script>alert(1)</script>.git', '<script>alert(1)</script> & "fatal" it\'s'));
  tick(2000);
  ev.onPassDone(summary('full', 'done', { cloned: 1, updated: 1, failed: 1, held: 3 }));
  tick(1000);
  tracker.noticed('/a.git');
  tracker.setQueueDepth(1);
  tick(4000);
  return tracker;
}

t.test('the status app through inject(): metrics, page, status.json', async (t) => {
  const app = buildStatusApp(fedTracker(), { log: silentLogger() });
  t.teardown(() => app.close());

  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(metrics.statusCode, 200);
  t.match(metrics.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const lines = new Set(metrics.body.split('\n'));
  for (const want of [
    'grokmirror_replica_repos 3',
    'grokmirror_replica_failing_repos 1',
    'grokmirror_replica_lag_seconds 4',
    `grokmirror_replica_last_manifest_check_timestamp_seconds ${T0 / 1000}`,
    'grokmirror_replica_since_full_pass_seconds 5',
    'grokmirror_replica_queue_depth 1',
    'grokmirror_replica_pass_running 0',
    'grokmirror_replica_fetched_bytes_total 1024',
    'grokmirror_replica_passes_total{kind="full",result="done"} 1',
    'grokmirror_replica_passes_total{kind="targeted",result="failed"} 0',
    'grokmirror_replica_repo_updates_total{result="cloned"} 1',
    'grokmirror_replica_repo_updates_total{result="updated"} 1',
    'grokmirror_replica_repo_updates_total{result="failed"} 1',
    'grokmirror_replica_manifest_checks_total{result="fetched"} 1',
    '# TYPE grokmirror_replica_fetched_bytes_total counter',
  ]) {
    t.ok(lines.has(want), want);
  }
  const again = await app.inject({ method: 'GET', url: '/metrics' });
  // Ours only: the process and runtime metrics move between scrapes.
  const ours = (body: string) => body.split('\n').filter((l) => l.includes('grokmirror_replica_')).join('\n');
  t.equal(ours(again.body), ours(metrics.body), 'a second scrape counts nothing twice');

  const page = await app.inject({ method: 'GET', url: '/' });
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /^text\/html; charset=utf-8/);
  t.match(page.headers['content-security-policy'], /default-src 'none'/);
  t.notMatch(page.body, /<script/i, 'nothing hostile reaches the page unescaped');
  t.match(page.body, '&lt;script&gt;alert(1)&lt;/script&gt;.git');
  t.match(page.body, '&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;fatal&quot; it&#39;s');
  t.match(page.body, '<meta http-equiv="refresh" content="10">');
  t.match(page.body, '<meta name="viewport"');
  t.notMatch(page.body, /<link|src=|url\(|@import/, 'no external assets');
  t.match(page.body, /id="repos"><div class="label">Repositories<\/div><div class="value">3</);
  // The failing repository (7 s) is further behind than lag (4 s), which leaves it out: the card shows it.
  t.match(page.body, /<div class="card bad" id="lag"><div class="label">Lag<\/div><div class="value">7s<\/div><div class="note">1 failing repository not updated since</);
  t.match(page.body, /<title>4s behind the origin/);

  const json = await app.inject({ method: 'GET', url: '/status.json' });
  t.equal(json.statusCode, 200);
  const s = json.json<StatusSnapshot>();
  t.match(s, { repos: 3, failing_repos: 1, lag_seconds: 4, queue: 1, bytes_fetched: 1024, last_manifest_check: { status: 'fetched' } });
  t.equal(s.failing[0]?.key, '/<script>alert(1)</script>.git', 'JSON carries the key as it is');
  t.equal(s.activity[0]?.what, 'full pass');

  t.equal((await app.inject({ method: 'POST', url: '/' })).statusCode, 404, 'read-only');
});

t.test('end to end: a daemon mirrors an origin; /metrics over HTTP counts repositories and a failing one', async (t) => {
  const d = await startStatusDaemon(t, ['a.git', 'b.git', 'c.git']);
  t.match(d.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const metric = async (name: string) => new RegExp(`^${name} (\\S+)$`, 'm').exec(await d.get('/metrics'))?.[1];
  await waitFor('the first pass in the metrics', async () => (await metric('grokmirror_replica_passes_total{kind="full",result="done"}')) === '1');
  t.equal(await metric('grokmirror_replica_repos'), '3');
  t.equal(await metric('grokmirror_replica_failing_repos'), '0');
  t.equal(await metric('grokmirror_replica_repo_updates_total{result="cloned"}'), '3');
  t.ok(Number(await metric('grokmirror_replica_fetched_bytes_total')) > 0, 'clones brought bytes');
  t.ok(Number(await metric('grokmirror_replica_last_manifest_check_timestamp_seconds')) > 0);

  await d.breakRepo('/b.git');
  await waitFor('the failure in the metrics', async () => (await metric('grokmirror_replica_failing_repos')) === '1');
  t.equal(await metric('grokmirror_replica_repo_updates_total{result="failed"}'), '1');
  t.equal(await metric('grokmirror_replica_repos'), '3', 'still held');
  const s = JSON.parse(await d.get('/status.json')) as StatusSnapshot;
  t.equal(s.failing[0]?.key, '/b.git');
  t.match(await d.get('/'), /<td class="key">\/b\.git<\/td>/, 'the page lists it');

  await d.stop();
  await t.rejects(fetch(d.url), 'the status server closed with the daemon');
});

t.test('the headline never says "In sync" while a repository fails; it says how long it is behind', async (t) => {
  const page = (steps: readonly Step[]) => {
    const body = renderStatusPage(run(steps));
    return { title: /<title>(.*?) · grok-pull<\/title>/.exec(body)?.[1], lag: /id="lag">.*?<div class="value">(.*?)<\/div>/.exec(body)?.[1], tone: /class="state (\w+)" id="state"/.exec(body)?.[1] };
  };
  const firstPass: Step[] = [['start', 'full'], ['check', 'fetched'], ['plan', 2], ['repo', repo('/a.git')], ['repo', repo('/b.git')], ['done', summary('full', 'done', { updated: 2 })]];
  const failB: Step[] = [['notice', '/b.git'], ['start', 'targeted'], ['plan', 1], ['repo', failed('/b.git')], ['done', summary('targeted', 'done', { failed: 1 })]];
  const rows: [string, Step[], { title: string; lag: string; tone: string }][] = [
    ['nothing failing', firstPass, { title: 'In sync', lag: 'in sync', tone: 'ok' }],
    ['one failing, 5 min on', [...firstPass, ...failB, ['tick', 300_000]], { title: '1 repository failing, behind for 5m 00s', lag: '5m 00s', tone: 'bad' }],
    ['failing again keeps its first failure', [...firstPass, ...failB, ['tick', 60_000], ...failB, ['tick', 60_000]], { title: '1 repository failing, behind for 2m 00s', lag: '2m 00s', tone: 'bad' }],
    [
      'failing and behind on another',
      [...firstPass, ...failB, ['tick', 10_000], ['notice', '/a.git'], ['tick', 30_000]],
      { title: '30s behind the origin; 1 repository failing, behind for 40s', lag: '40s', tone: 'bad' },
    ],
    ['fixed by the next pass', [...firstPass, ...failB, ['tick', 5_000], ['start', 'targeted'], ['plan', 1], ['repo', repo('/b.git')], ['done', summary('targeted', 'done', { updated: 1 })]], { title: 'In sync', lag: 'in sync', tone: 'ok' }],
  ];
  for (const [what, steps, want] of rows) t.same(page(steps), want, what);
});

t.test("splitGitMessage: git's words first, the command apart; other text whole", async (t) => {
  const fetchErr = new GitError(['-c', 'http.lowSpeedLimit=1000', 'fetch', '-q', 'https://u:pw@example.org/a.git'], 128, 'remote: Not Found\nfatal: repository not found\n', '/srv/m/a.git');
  const timeout = new GitError(['fetch', 'origin'], null, '', '/srv/m/b.git', 600_000);
  const rows: [string, string, string | null][] = [
    [fetchErr.message, 'remote: Not Found / fatal: repository not found', 'git -c http.lowSpeedLimit=1000 fetch -q https://***@example.org/a.git in /srv/m/a.git, exit 128'],
    [`clone failed: ${fetchErr.message}`, 'clone failed: remote: Not Found / fatal: repository not found', 'git -c http.lowSpeedLimit=1000 fetch -q https://***@example.org/a.git in /srv/m/a.git, exit 128'],
    [timeout.message, 'killed after 600 s, the time limit for this git command', 'git fetch origin in /srv/m/b.git, exit null'],
    ['locked by another process; left for the next pass', 'locked by another process; left for the next pass', null],
    ['connect ECONNREFUSED 127.0.0.1:9 (git is not involved)', 'connect ECONNREFUSED 127.0.0.1:9 (git is not involved)', null],
  ];
  for (const [text, said, command] of rows) t.same(splitGitMessage(text), { said, command }, said);
});
