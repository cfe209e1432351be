/**
 * Which repositories fail, since when and how many passes in a row: /status.json (and so the page
 * and /metrics) and grok-pull --status (the pass record in the toplevel) must say the same, across
 * a daemon restart and a one-shot pass run by hand while the daemon is idle.
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import path from 'node:path';
import t from 'tap';
import { runDaemon } from '../../replica/daemon.js';
import { readPassRecord } from '../../replica/pass-recorder.js';
import type { StatusSnapshot } from '../../replica/status/tracker.js';
import { Git } from '../../shared/git/index.js';
import { silentLogger } from '../../shared/log.js';
import { runBin } from '../helpers/cli.js';
import { BIN } from '../helpers/fixture.js';
import { fsckOk, makeRepo } from '../helpers/git.js';
import { startTestOrigin } from '../helpers/origin.js';
import { replicaConfig } from '../helpers/replica.js';
import { waitFor } from '../helpers/status-daemon.js';
import { tmpDir } from '../helpers/tmp.js';

t.test('the status page and grok-pull --status agree on the failing repositories', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  for (const k of ['/a.git', '/b.git']) makeRepo(path.join(top, k));
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  const sock = path.join(dir, 'updater.sock');
  const pullLines = `refresh = 3600\nretries = 1\nsocket = ${sock}\nstatus_listen = 127.0.0.1:0\n`;
  const config = replicaConfig(mirror, origin.url, pullLines);
  const conf = path.join(dir, 'replica.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${mirror}\nmanifest = ${path.join(mirror, 'manifest.js.gz')}\n[remote]\nsite = ${origin.url}\nmanifest = ${origin.url}/manifest.js.gz\n[pull]\nprojectslist = ${path.join(mirror, 'projects.list')}\n${pullLines}`);

  let daemon: { url: string; stop: () => Promise<void> } | null = null;
  const start = async () => {
    const abort = new AbortController();
    let url = '';
    const done = runDaemon(config, { purge: false, forcePurge: false }, { git: new Git(), log: silentLogger(), now: Date.now, onStatusListening: (u) => (url = u) }, abort.signal);
    await waitFor('the status server', () => url !== '');
    daemon = { url, stop: () => (abort.abort(), done) };
  };
  t.teardown(() => daemon?.stop());
  const status = async (): Promise<StatusSnapshot> => (await fetch(new URL('/status.json', daemon!.url))).json() as Promise<StatusSnapshot>;
  const notify = (key: string) =>
    new Promise<void>((resolve, reject) => {
      const c = createConnection(sock, () => c.end(`${key}\n`));
      c.on('close', () => resolve());
      c.on('error', reject);
    });
  const passes = async () => {
    const s = await status();
    return s.passes.full.done + s.passes.full.unchanged + s.passes.full.failed + s.passes.targeted.done + s.passes.targeted.failed;
  };
  const idleAfter = async (n: number) => waitFor(`pass ${n}`, async () => (await passes()) >= n && (await status()).working === null, 60_000);
  /** Both homes, side by side: key, since (whole seconds), passes in a row, error. */
  const both = async () => {
    const s = await status();
    const page = s.failing.map((f) => [f.key, Math.floor(f.since), f.failures, f.error]).sort();
    const rec = Object.entries(readPassRecord(mirror)?.failing ?? {}).map(([k, f]) => [k, Math.floor(Date.parse(f.since) / 1000), f.attempts, f.error]).sort();
    const cli = await runBin(BIN.pull, ['-c', conf, '--status']);
    const nextRetry = readPassRecord(mirror)?.nextRetry ?? null;
    return { page, rec, pageCount: s.failing_repos, cliFailing: cli.stdout.split('\n').filter((l) => /^\/.*\(since /.test(l)).length, retry: [nextRetry === null ? null : Date.parse(nextRetry) / 1000, s.next_full_pass_at] };
  };
  // After a one-shot pass the record says "at the next grok-pull run" (it knows no daemon's timer).
  let daemonPassed = true;
  const agree = async (what: string, keys: string[], attempts: number) => {
    const b = await both();
    t.same(b.rec.map((r) => [r[0], r[2]]), keys.map((k) => [k, attempts]), `${what}: the record`);
    t.same(b.page, b.rec, `${what}: /status.json says what the record says`);
    t.equal(b.pageCount, b.cliFailing, `${what}: failing_repos is what --status lists`);
    if (daemonPassed) t.equal(b.retry[0], b.retry[1], `${what}: the next retry is the next full pass the page shows`);
  };

  await start();
  await idleAfter(1);
  t.ok(existsSync(path.join(mirror, 'b.git')));
  // b.git leaves the origin's disk (it stays in the manifest): every fetch of it fails for real.
  renameSync(path.join(top, 'b.git'), path.join(dir, 'b-saved.git'));
  await notify('/b.git');
  await idleAfter(2);
  await agree('first failure', ['/b.git'], 1);

  // A restart: the record keeps the failure; the first full pass finds the manifest unchanged, so the
  // repository that failed in a targeted pass is retried on its own (a targeted pass after it).
  await daemon!.stop();
  await start();
  await idleAfter(2);
  await agree('after a restart: retried after the unchanged full pass', ['/b.git'], 2);
  t.equal((await status()).passes.targeted.done + (await status()).passes.targeted.failed, 1, 'one targeted pass: the retry');
  await notify('/b.git');
  await idleAfter(3);
  await agree('failing again after the restart', ['/b.git'], 3);

  // A one-shot pass by hand while the daemon is idle: b.git is back at the origin and gets fixed.
  renameSync(path.join(dir, 'b-saved.git'), path.join(top, 'b.git'));
  const oneShot = await runBin(BIN.pull, ['-c', conf, '-n']);
  daemonPassed = false;
  t.equal(oneShot.code, 0, oneShot.stderr);
  await agree('after a one-shot pass', [], 0);

  // Failing again in a targeted pass, then back at the origin: the daemon's next full pass (here the
  // first after a restart; the retry after it when the origin's manifest did not change meanwhile)
  // clears it, with nobody running grok-pull by hand.
  renameSync(path.join(top, 'b.git'), path.join(dir, 'b-saved.git'));
  daemonPassed = true;
  await notify('/b.git');
  await idleAfter(4);
  await agree('failing in a targeted pass', ['/b.git'], 1);
  renameSync(path.join(dir, 'b-saved.git'), path.join(top, 'b.git'));
  await daemon!.stop();
  await start();
  await waitFor('b.git fixed by the daemon', async () => { const s = await status(); return s.failing_repos === 0 && s.working === null && s.passes.full.done + s.passes.full.unchanged >= 1; }, 60_000);
  await agree('fixed by the daemon after a restart', [], 0);
  t.ok(fsckOk(path.join(mirror, 'b.git')).ok, 'b.git: git fsck');
  await daemon!.stop();
  daemon = null;
});
