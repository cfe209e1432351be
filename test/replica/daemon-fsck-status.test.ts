/**
 * grok-pull -o with fsck_cron and a status listener (test/helpers/fsck-daemon.ts): while grok-fsck
 * runs (held until the test lets it end, as an fsck of a big mirror takes hours) /healthz says
 * `fsck` (200), /status.json, the page and /metrics say so, and the manifest is still checked on
 * every refresh tick, so a loop that stops checking is still `stale`. The passes wait for the fsck; the change a check saw
 * is applied by the pass after it. A clock the test moves stands for the hours.
 */
import path from 'node:path';
import t from 'tap';
import { startFsckDaemon } from '../helpers/fsck-daemon.js';
import { fsckOk, git, pushCommit } from '../helpers/git.js';
import { waitFor } from '../helpers/status-daemon.js';

const headOf = (repo: string, ref: string) => {
  try {
    return git([`--git-dir=${repo}`, 'rev-parse', '--verify', '-q', ref]);
  } catch {
    return '';
  }
};

interface Status {
  fsck: { since: number } | null;
  last_fsck: { status: string; errors: number; seconds: number } | null;
  manifest_checks: Record<string, number>;
  passes: { full: Record<string, number> };
  bytes_downloaded: { manifest: number };
  behind_since: number | null;
}

t.test('fsck_cron: /healthz, /status.json, the page and /metrics while grok-fsck runs and after', async (t) => {
  const d = await startFsckDaemon(t, ['a.git']);
  const { url, top, mirror, origin, now, tick } = d;
  const healthz = async () => {
    const res = await fetch(`${url}/healthz`);
    return { code: res.status, body: (await res.json()) as { status: string; fsck: { since: number; running_seconds: number } | null; last_fsck: { status: string } | null } };
  };
  const status = async () => (await (await fetch(`${url}/status.json`)).json()) as Status;
  const metric = async (name: string) => Number(new RegExp(`^grokmirror_replica_${name} (\\S+)$`, 'm').exec(await (await fetch(`${url}/metrics`)).text())?.[1]);
  const checks = async () => Object.values((await status()).manifest_checks).reduce((a, b) => a + b, 0);
  /** One refresh tick, and its manifest check answered. */
  const tickAndCheck = async () => {
    const before = await checks();
    tick();
    await waitFor('the manifest check', async () => (await checks()) > before);
  };

  await waitFor('the first pass', async () => (await status()).passes.full.done === 1);
  t.equal((await healthz()).body.status, 'ok', 'ok before any fsck');
  t.equal(await metric('fsck_running'), 0);

  await d.startFsck();
  const startedAt = now() / 1000;
  let h = await healthz();
  t.equal(h.code, 200);
  t.equal(h.body.status, 'fsck', '/healthz says fsck');
  t.ok(h.body.fsck && Math.abs(h.body.fsck.since - startedAt) < 5, 'since when');
  t.ok((await status()).fsck, '/status.json has the running fsck');
  t.match(await (await fetch(url)).text(), /grok-fsck running since <time datetime="[^"]+"/, 'the page says so');
  t.equal(await metric('fsck_running'), 1, 'grokmirror_replica_fsck_running 1');

  // Two hours on (refresh 3600 s + 300 s grace is past): the refresh tick's check keeps health ok.
  d.advance(2 * 3600_000);
  await tickAndCheck();
  h = await healthz();
  t.equal(h.code, 200, 'still 200 two hours into the fsck');
  t.equal(h.body.status, 'fsck');
  t.ok(h.body.fsck!.running_seconds >= 7200, `running_seconds ${h.body.fsck!.running_seconds}`);
  t.ok((await metric('fsck_running_seconds')) >= 7200, 'grokmirror_replica_fsck_running_seconds');
  let s = await status();
  t.equal(s.manifest_checks.unchanged, 1, 'the check found the manifest unchanged (conditional)');
  t.same(s.passes.full, { done: 1, unchanged: 0, failed: 0 }, 'no pass ran beside the fsck');

  // A push during the fsck: a check sees the manifest changed; the pass waits for the fsck.
  const sha = pushCommit(path.join(top, 'a.git'), { branch: 'live' });
  await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/a.git'] } });
  await waitFor('a check that sees the change', async () => {
    await tickAndCheck();
    return (await status()).manifest_checks.fetched === 2;
  });
  s = await status();
  t.ok(s.behind_since !== null, 'the change counts as lag from the check that saw it');
  t.equal(headOf(path.join(mirror, 'a.git'), 'refs/heads/live'), '', 'not fetched while the fsck runs');
  const downloaded = s.bytes_downloaded.manifest;
  await tickAndCheck();
  s = await status();
  t.equal(s.bytes_downloaded.manifest, downloaded, 'the next check is conditional on what the last one saw: no second download');

  // A loop that stops checking is stale, fsck or not.
  d.advance(2 * 3600_000);
  h = await healthz();
  t.equal(h.code, 503, 'no check for two hours during the fsck: 503');
  t.equal(h.body.status, 'stale');
  await tickAndCheck();
  t.equal((await healthz()).body.status, 'fsck', 'back to fsck after a check');

  d.endFsck();
  await waitFor('the pass after the fsck', () => headOf(path.join(mirror, 'a.git'), 'refs/heads/live') === sha);
  await waitFor('the pass recorded', async () => (await status()).passes.full.done === 2);
  h = await healthz();
  t.equal(h.code, 200);
  t.equal(h.body.status, 'ok', 'ok after the fsck');
  t.equal(h.body.fsck, null);
  t.equal(h.body.last_fsck?.status, 'done');
  s = await status();
  t.equal(s.fsck, null);
  t.match(s.last_fsck, { status: 'done', errors: 0 });
  t.ok(s.last_fsck!.seconds >= 4 * 3600, `the fsck took ${s.last_fsck!.seconds} s by the test's clock`);
  t.equal(s.behind_since, null, 'the change was applied');
  t.equal(await metric('fsck_running'), 0);
  t.equal(await metric('fsck_running_seconds'), 0);
  t.ok((await metric('last_fsck_timestamp_seconds')) >= now() / 1000 - 60, 'grokmirror_replica_last_fsck_timestamp_seconds');
  t.ok((await metric('last_fsck_duration_seconds')) >= 4 * 3600, 'grokmirror_replica_last_fsck_duration_seconds');
  t.equal(await metric('fsck_runs_total{result="done"}'), 1);
  const page = await (await fetch(url)).text();
  t.notMatch(page, /grok-fsck running since/, 'the page no longer says it runs');
  t.match(page, /<span id="last-fsck">.*: done, 0 repositories with errors, took 4h 0\dm<\/span>/, 'the page shows the last fsck');
  t.ok(fsckOk(path.join(mirror, 'a.git')).ok);
});
