/**
 * Both sides' /metrics: one prefix (grokmirror_), process and runtime metrics, build_info, the origin's
 * notify latency observed and its manifest writes a counter; the replica's /healthz by state, with
 * rows at the edge of "stale", and over HTTP from a real daemon.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { health, HEALTH_GRACE_SECONDS } from '../../replica/status/health.js';
import { StatusTracker } from '../../replica/status/tracker.js';
import { REPO_ROOT } from '../helpers/fixture.js';
import { makeRepo, git } from '../helpers/git.js';
import { startTestOrigin } from '../helpers/origin.js';
import { startStatusDaemon, waitFor } from '../helpers/status-daemon.js';
import { tmpDir } from '../helpers/tmp.js';

const version = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Metric names of a scrape (from its TYPE lines), with their types. */
function types(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** What both sides share: every metric of ours under grokmirror_, the runtime's metrics, build_info. */
function common(t: Test, text: string, component: 'origin' | 'replica'): void {
  const names = [...types(text).keys()];
  const ours = names.filter((n) => !/^(process|nodejs)_/.test(n));
  t.same(ours.filter((n) => !n.startsWith(`grokmirror_${component}_`) && n !== 'grokmirror_build_info'), [], `every ${component} metric is grokmirror_${component}_*`);
  for (const n of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_open_fds', 'process_start_time_seconds', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
    t.ok(names.includes(n), `${component}: ${n}`);
  }
  t.match(text, `grokmirror_build_info{component="${component}",version="${version}",node_version="${process.version}"} 1`, `${component}: build_info`);
}

t.test('origin: notify latency observed, manifest writes counted, one prefix, runtime metrics', async (t) => {
  const top = tmpDir(t);
  makeRepo(path.join(top, 'a.git'));
  const origin = await startTestOrigin(t, top);
  const scrape = async () => (await origin.app.inject({ url: '/metrics' })).payload;
  const before = await scrape();
  t.match(before, /^grokmirror_origin_notify_seconds_count 0$/m);
  common(t, before, 'origin');
  t.equal(types(before).get('grokmirror_origin_manifest_writes_total'), 'counter');
  const writes = () => Number(/^grokmirror_origin_manifest_writes_total (\d+)$/m.exec(before)?.[1]);
  const w0 = writes();

  git(['update-ref', 'refs/heads/new', 'HEAD'], { cwd: path.join(top, 'a.git') });
  for (let i = 0; i < 2; i++) {
    const n = await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/a.git'] } });
    t.equal(n.statusCode, 200);
  }
  const refused = await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/none.git'] } });
  t.equal(refused.statusCode, 404);
  const after = await scrape();
  t.match(after, /^grokmirror_origin_notify_seconds_count 2$/m, 'the two notices answered 200 are observed, the refused one is not');
  t.ok(Number(/^grokmirror_origin_notify_seconds_sum (\S+)$/m.exec(after)?.[1]) > 0, 'their time summed');
  t.match(after, /^grokmirror_origin_notify_seconds_bucket\{le="\+Inf"\} 2$/m);
  t.ok(Number(/^grokmirror_origin_manifest_writes_total (\d+)$/m.exec(after)?.[1]) > w0, 'the write counted');
  t.notMatch(after, /grok_origin_/, 'the old prefix is gone');
});

/** A tracker with refresh 900 on a clock the test sets: `at(s)` is /healthz s seconds after start. */
function healthClock() {
  const T0 = Date.UTC(2025, 0, 1);
  const clock = { now: T0 };
  const tracker = new StatusTracker({ now: () => clock.now, refreshSeconds: 900, feed: false });
  const at = (s: number) => {
    clock.now = T0 + s * 1000;
    return health(tracker.snapshot());
  };
  return { T0, clock, tracker, at, limit: 900 + HEALTH_GRACE_SECONDS };
}

t.test('replica /healthz by state: starting, ok, stale at the edge, working', async (t) => {
  const { tracker, at, limit } = healthClock();
  t.match(at(0), { code: 200, body: { status: 'starting', last_manifest_check: null, uptime_seconds: 0 } });
  t.match(at(limit), { code: 200, body: { status: 'starting' } }, 'starting up to the limit');
  t.match(at(limit + 1), { code: 503, body: { status: 'stale' } }, 'no check past it: stale');
  tracker.events.onPassStart({ kind: 'full' });
  t.match(at(limit + 2), { code: 200, body: { status: 'ok', working: true } }, 'a running pass is alive');
  tracker.events.onManifestChecked({ status: 'failed', error: 'connect ECONNREFUSED' });
  tracker.events.onPassDone({ kind: 'full', status: 'failed', ms: 10, cloned: 0, updated: 0, purged: 0, deferred: 0, failed: 0, error: 'x' });
  const checked = limit + 2;
  t.match(at(checked + 10), { code: 200, body: { status: 'ok', working: false, last_manifest_check: { status: 'failed', age_seconds: 10 }, last_pass: { kind: 'full', status: 'failed', age_seconds: 10 } } }, 'a failed check still shows the loop on schedule');
  t.match(at(checked + limit), { code: 200, body: { status: 'ok' } }, 'ok at exactly refresh + grace');
  t.match(at(checked + limit + 1), { code: 503, body: { status: 'stale' } }, 'stale one second past it');
});

t.test('replica /healthz during an fsck_cron grok-fsck: fsck while checks are on schedule, stale at the same edge', async (t) => {
  const { T0, clock, tracker, at, limit } = healthClock();
  tracker.fsckStarted();
  t.match(at(limit), { code: 200, body: { status: 'fsck', fsck: { since: T0 / 1000, running_seconds: limit }, last_manifest_check: null } }, 'before any check: fsck up to the start-up limit');
  t.match(at(limit + 1), { code: 503, body: { status: 'stale' } }, 'and stale past it, fsck or not');
  tracker.events.onManifestChecked({ status: 'unchanged' });
  const checked = limit + 1;
  t.match(at(checked + limit), { code: 200, body: { status: 'fsck' } }, 'fsck at exactly refresh + grace after a check');
  t.match(at(checked + limit + 1), { code: 503, body: { status: 'stale', fsck: { running_seconds: checked + limit + 1 } } }, 'stale one second past it');
  tracker.events.onManifestChecked({ status: 'failed', error: 'connect ECONNREFUSED' });
  t.match(at(checked + limit + 2), { code: 200, body: { status: 'fsck' } }, 'a failed check still shows the loop on schedule');
  tracker.fsckDone('failed', undefined, 'objstore on fire');
  t.match(at(checked + limit + 12), { code: 200, body: { status: 'ok', fsck: null, last_fsck: { status: 'failed', errors: 0, seconds: checked + limit + 2, age_seconds: 10 } } }, 'ok after it, with how the last one ended');
  tracker.fsckStarted();
  tracker.fsckDone('busy');
  tracker.fsckStarted();
  clock.now += 60_000;
  tracker.fsckDone('done', { checked: 3, repacked: 1, errors: 2 });
  const s = tracker.snapshot();
  t.same(s.fsck_runs, { done: 1, busy: 1, failed: 1 }, 'each outcome counted');
  t.match(s.last_fsck, { status: 'done', errors: 2, seconds: 60 });
  t.match(s.activity[0], { what: 'fsck', ok: false, detail: '3 checked, 1 repacked, 2 with errors', seconds: 60 }, 'errors found make it a failure in the activity');
  t.match(s.activity[1], { what: 'fsck', ok: true, detail: 'skipped: another grok-fsck was running' });
  t.match(s.activity[2], { what: 'fsck', ok: false, detail: 'objstore on fire' });
});

t.test('replica: a real daemon over HTTP: /healthz, build_info, runtime metrics, one prefix', async (t) => {
  const d = await startStatusDaemon(t, ['a.git', 'b.git']);
  await waitFor('the first pass', async () => /"passes":\{"full":\{"done":1/.test(await d.get('/status.json')));
  const h = await fetch(new URL('/healthz', d.url));
  t.equal(h.status, 200);
  t.match(await h.json(), { status: 'ok', pid: process.pid, version, working: false, last_manifest_check: { status: 'fetched' }, last_pass: { kind: 'full', status: 'done' }, failing_repos: 0 });
  const m = await d.get('/metrics');
  common(t, m, 'replica');
  t.match(m, /^grokmirror_replica_refresh_seconds 3600$/m);
  t.match(m, /^grokmirror_replica_failing_seconds 0$/m);
  t.ok(Number(/^grokmirror_replica_last_pass_timestamp_seconds (\S+)$/m.exec(m)?.[1]) > 0, 'last pass time');
});
