/**
 * A replica daemon (the real `grok-pull -o`) mirrors a real grok-origin through a fault-injecting
 * proxy (test/helpers/fault-proxy.ts), and the origin misbehaves: it goes down, is stopped and
 * restarted in the middle of a pass, answers slowly, cuts manifest downloads short, resets
 * connections during manifest fetches and git fetches. The origin keeps changing meanwhile. For
 * every fault: the daemon stays alive and logs an error that names the problem (slowness is no
 * error), and once the fault is gone it converges (fingerprints, refs, git fsck as the origin, no
 * leftovers), and nothing mirrored before the faults is lost.
 *
 * The daemon polls every second (`refresh = 1`) with the change feed off (`feed = no`): every change
 * then reaches it through the manifest, the path the manifest faults are aimed at; with the feed on,
 * pushes would come through it and the manifest faults would not be in the way of anything.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { CaseTable } from '../helpers/case-table.js';
import { convergenceProblems } from '../helpers/convergence.js';
import { startFaultProxy, type FaultRule } from '../helpers/fault-proxy.js';
import { BIN } from '../helpers/fixture.js';
import { GIT_ENV, makeRepo, pushCommit } from '../helpers/git.js';
import { refsOf } from '../helpers/fork-network.js';
import { spawnKillable } from '../helpers/killable.js';
import { runM } from '../helpers/manifest.js';
import { startOriginProcess, type OriginProcess } from '../helpers/origin-process.js';
import { pick, rng, seedFor } from '../helpers/seeded.js';
import { tmpDir } from '../helpers/tmp.js';

const SEED = seedFor(0x5eed_0005);
const MANIFEST_GET = /^GET \/manifest\.js\.gz /;
const UPLOAD_PACK = /git-upload-pack/;
/** The pack itself (info/refs, the small first response, gets through). */
const PACK_POST = /^POST \S+\/git-upload-pack /;

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > until) return false;
    await sleep(100);
  }
  return true;
}

t.test('a grok-pull daemon survives origin faults and converges once they stop', async (t) => {
  const random = rng(SEED);
  t.comment(`seed ${SEED} (replay with GROK_SEED=${SEED})`);
  const table = new CaseTable('origin-faults', 'grok-pull -o through a faulty connection to grok-origin');
  const dir = tmpDir(t, 'grok-faults-');
  const top = path.join(dir, 'origin');
  const manifest = path.join(top, 'manifest.js.gz');
  const repos = Array.from({ length: 8 }, (_, i) => path.join(top, `pub/r${i}.git`));
  repos.forEach((r, i) => makeRepo(r, { commits: 3 + i, date: 1_600_000_000 + i * 1000 }));
  await runM(top, manifest);
  const originConf = path.join(dir, 'origin.conf');
  // shutdown_timeout = 0: a stopped server cuts the clones it was serving (a restart mid-pass).
  writeFileSync(originConf, `[core]\ntoplevel = ${top}\nmanifest = ${manifest}\n[origin]\nlisten = 127.0.0.1:0\nwrite_delay_ms = 5\nshutdown_timeout = 0\n`);
  let origin: OriginProcess = await startOriginProcess(originConf);
  t.teardown(() => void origin.proc.kill('group'));
  const proxy = await startFaultProxy(t, origin.port);

  const mirror = path.join(dir, 'mirror');
  const conf = path.join(dir, 'replica.conf');
  writeFileSync(
    conf,
    `[core]\ntoplevel = ${mirror}\nmanifest = ${mirror}/manifest.js.gz\n` +
      `[remote]\nsite = ${proxy.url}\nmanifest = ${proxy.url}/manifest.js.gz\n` +
      `[pull]\nprojectslist = ${mirror}/projects.list\npull_threads = 2\nrefresh = 1\nretries = 2\nfeed = no\npurge = yes\n`,
  );
  const daemon = spawnKillable(BIN.pull, ['-o', '-v', '-c', conf]);
  t.teardown(() => void daemon.kill('group'));

  const originRefs = new Map<string, string>();
  const problems = (fsck: boolean) =>
    convergenceProblems({ originTop: top, originManifest: manifest, mirror, mirrorManifest: path.join(mirror, 'manifest.js.gz'), projectsList: path.join(mirror, 'projects.list'), fsck, locks: false, originRefs });
  /** Polls until the mirror has caught up (cheap checks), then checks it all, git fsck included. */
  const converge = async (timeoutMs = 90_000): Promise<string[]> => {
    let last: string[] = [];
    const ok = await waitFor('convergence', async () => (last = await problems(false)).length === 0, timeoutMs);
    return ok ? problems(true) : last;
  };
  const notify = async (paths: readonly string[]) => {
    const res = await fetch(`${origin.url}/_grok/notify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ paths }) });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`notify: ${res.status}`);
  };
  let pushes = 0;
  /** The origin keeps changing: pushes to `n` repositories (seeded), told to the server as hooks do. */
  const change = async (n: number, extra: string[] = []) => {
    const changed = new Set<string>(extra);
    for (let i = 0; i < n; i++) {
      const r = pick(random, repos);
      pushCommit(r, { branch: `b${++pushes}`, date: 1_700_000_000 + pushes, message: `push ${pushes}` });
      changed.add(r);
    }
    await notify([...changed]);
  };

  const first = await converge();
  t.same(first, [], 'the initial mirror, without faults');
  const before = new Map([...repos].map((r) => [`/${path.relative(top, r)}`, refsOf(path.join(mirror, path.relative(top, r)))]));
  /** Everything mirrored before the faults is still there: each repository, each object its refs had. */
  const lost = (): string[] => {
    const out: string[] = [];
    for (const [key, refs] of before) {
      const repo = path.join(mirror, key);
      if (!existsSync(path.join(repo, 'HEAD'))) {
        out.push(`${key} is gone`);
        continue;
      }
      const shas = refs.split('\n').filter((l) => l !== '').map((l) => `${l.split(' ')[0]}\n`).join('');
      const res = spawnSync('git', [`--git-dir=${repo}`, 'cat-file', '--batch-check'], { input: shas, env: GIT_ENV, encoding: 'utf8' });
      const missing = res.stdout.split('\n').filter((l) => l.endsWith(' missing')).length;
      if (missing > 0) out.push(`${key}: ${missing} objects its refs had are gone`);
    }
    return out;
  };

  let logFrom = 0;
  /** Daemon log lines (warnings and errors) since the scenario began. */
  const errorsSince = () =>
    daemon
      .stderr()
      .slice(logFrom)
      .split('\n')
      .filter((l) => /^grok-pull: (warning|error):/.test(l));
  let survived = 0;
  let converged = 0;
  let scenarios = 0;
  const scenario = async (name: string, expected: string, wantLog: RegExp | null, fault: () => Promise<{ stop: () => Promise<void>; seen: () => string } | null>) => {
    scenarios++;
    const t0 = performance.now();
    logFrom = daemon.stderr().length;
    const faultStats = { truncated: proxy.stats.truncated, reset: proxy.stats.reset, delayed: proxy.stats.delayed };
    const issues: string[] = [];
    const on = await fault();
    let logged = '';
    if (wantLog) {
      const saw = await waitFor(`a log line matching ${wantLog}`, () => errorsSince().some((l) => wantLog.test(l)), 60_000);
      logged = errorsSince().find((l) => wantLog.test(l)) ?? '';
      if (!saw) issues.push(`no log line matching ${wantLog} (got: ${errorsSince().slice(0, 3).join(' / ') || 'nothing'})`);
    }
    const alive = !daemon.exited();
    if (!alive) issues.push(`the daemon exited (${daemon.stderr().slice(-300)})`);
    const seen = on?.seen() ?? '';
    await on?.stop();
    const after = await converge();
    issues.push(...after, ...lost());
    if (alive) survived++;
    if (after.length === 0) converged++;
    const injected = [
      proxy.stats.truncated > faultStats.truncated ? `${proxy.stats.truncated - faultStats.truncated} responses truncated` : '',
      proxy.stats.reset > faultStats.reset ? `${proxy.stats.reset - faultStats.reset} connections reset` : '',
      proxy.stats.delayed > faultStats.delayed ? `${proxy.stats.delayed - faultStats.delayed} chunks delayed` : '',
      seen,
    ].filter((s) => s !== '');
    const ok = issues.length === 0;
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    table.add(name, expected, `${injected.join(', ') || 'fault applied'}; ${alive ? 'daemon alive' : 'daemon DEAD'}${logged ? `; logged "${logged.slice(0, 220)}"` : ''}; ${ok ? `converged, nothing lost (${secs} s)` : issues.join('; ')}`, ok);
    t.same(issues, [], name);
  };
  const rule = async (r: FaultRule, wait: () => boolean) => {
    proxy.setRule(r);
    await change(2);
    if (!(await waitFor('the fault to be hit', wait, 60_000))) t.fail(`the fault ${JSON.stringify({ ...r, match: String(r.match) })} was never hit`);
    return { stop: async () => proxy.setRule(null), seen: () => '' };
  };

  await scenario(
    'origin down: connections refused while it changes (a new repository too)',
    'daemon alive, logs that the manifest cannot be fetched; converges once the origin is back',
    /cannot fetch the manifest.*(ECONNREFUSED|refused)/i,
    async () => {
      await proxy.down();
      const fresh = path.join(top, 'pub/new-while-down.git');
      makeRepo(fresh, { commits: 2, date: 1_650_000_000 });
      repos.push(fresh);
      await change(2, [fresh]);
      return { stop: () => proxy.up(), seen: () => '' };
    },
  );

  await scenario(
    'origin server stopped and restarted mid-pass (SIGTERM, shutdown_timeout = 0, while git fetches are slowed and running)',
    'daemon alive, logs the failed fetches; converges after the restart',
    /error: .*\/pub\/r\d\.git: /,
    async () => {
      proxy.setRule({ fault: 'delay', match: UPLOAD_PACK, delayMs: 400 });
      const seenBefore = proxy.stats.requests.length;
      await change(4);
      const fetching = await waitFor('a git fetch in flight', () => proxy.stats.requests.slice(seenBefore).some((l) => /POST .*git-upload-pack/.test(l)), 60_000);
      if (!fetching) t.fail('no git fetch began');
      process.kill(origin.proc.pid, 'SIGTERM');
      const code = await origin.proc.ended;
      proxy.setRule(null);
      await sleep(1500);
      return {
        stop: async () => {
          origin = await startOriginProcess(originConf);
          proxy.setTarget(origin.port);
        },
        seen: () => `stopped with a fetch in flight (exit ${code}), restarted`,
      };
    },
  );

  await scenario('slow origin: every response chunk held back 250 ms', 'no errors needed; converges while still slow', null, async () => {
    proxy.setRule({ fault: 'delay', delayMs: 250 });
    await change(3);
    // Converging under the fault is the point: the rule is lifted only after the check.
    const slow = await converge(120_000);
    if (slow.length > 0) t.fail(`did not converge while slow: ${slow.join('; ')}`);
    return { stop: async () => proxy.setRule(null), seen: () => (slow.length === 0 ? 'converged while slow' : 'did NOT converge while slow') };
  });

  await scenario(
    'truncated manifest downloads: the next 3 responses cut after 200 bytes (clean close)',
    'daemon alive, logs that the manifest download failed; nothing purged or half-applied; converges',
    /cannot fetch the manifest/,
    () => rule({ fault: 'truncate', match: MANIFEST_GET, afterBytes: 200, times: 3 }, () => proxy.stats.truncated > 0),
  );

  await scenario(
    'connection reset during manifest fetch: the next 3 responses reset after 300 bytes',
    'daemon alive, logs that the manifest fetch failed; converges',
    /cannot fetch the manifest/,
    () => rule({ fault: 'reset', match: MANIFEST_GET, afterBytes: 300, times: 3 }, () => proxy.stats.reset > 0),
  );

  await scenario(
    'connection reset during git fetch: the next 6 pack responses (POST git-upload-pack) reset after 200 bytes',
    'daemon alive, logs the failed fetch naming the repository; converges',
    /error: .*\/pub\/r\d\.git: /,
    () => rule({ fault: 'reset', match: PACK_POST, afterBytes: 200, times: 6 }, () => proxy.stats.reset > 0),
  );

  await scenario(
    'truncated git fetch: the next 6 pack responses (POST git-upload-pack) cut after 400 bytes (clean close)',
    'daemon alive, logs the failed fetch naming the repository; converges',
    /error: .*\/pub\/r\d\.git: /,
    () => rule({ fault: 'truncate', match: PACK_POST, afterBytes: 400, times: 6 }, () => proxy.stats.truncated > 0),
  );

  // The daemon stops cleanly on request after all that.
  process.kill(daemon.pid, 'SIGTERM');
  const code = await daemon.ended;
  const stoppedOk = code === 0;
  table.add('SIGTERM to the daemon after the faults', 'exits 0', `exit ${code}`, stoppedOk);
  t.equal(code, 0, 'the daemon stops cleanly');

  const summary = `grok-pull -o through ${scenarios} origin faults: alive after ${survived}/${scenarios}, converged after ${converged}/${scenarios}; ${proxy.stats.truncated} responses truncated, ${proxy.stats.reset} connections reset, ${proxy.stats.delayed} chunks delayed in all`;
  t.comment(summary);
  const file = table.write([`seed ${SEED}`, `${repos.length} repositories at the end; daemon: refresh = 1, retries = 2, feed = no, purge = yes`, summary]);
  t.comment(`cases written to ${file}`);
});
