/**
 * Issue 16 item 12 and issue 23 item 5: servers that trickle. A manifest server that drips a byte at
 * a time, one that never answers and one that streams steadily for ever; a git server behind a proxy
 * that trickles its replies; preload bundles that drip, stall, or send a good header followed by
 * junk. Each must end, by itself, within the configured minimum rate ([remote] low_speed_limit and
 * low_speed_time) or deadline (manifest_timeout, git_timeout, preload_bundle_timeout), with a line
 * saying why. The limits are narrowed to seconds here; on code without them each case holds for tens
 * of minutes, so every run is bounded and a run that has to be killed fails its case.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import t from 'tap';
import { buildConfig } from '../../shared/config/config.js';
import { parseIni } from '../../shared/config/ini.js';
import { Git } from '../../shared/git/index.js';
import { acquireLock, lockPathFor } from '../../shared/lock.js';
import { preloadObjstore, type PreloadResult } from '../../replica/execute/preload-bundle.js';
import { workContext } from '../../replica/execute/context.js';
import { CaseTable } from '../helpers/case-table.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { BIN } from '../helpers/fixture.js';
import { fsckOk, git, makeRepo } from '../helpers/git.js';
import { runBounded } from '../helpers/killable.js';
import { startTestOrigin } from '../helpers/origin.js';
import { tmpDir } from '../helpers/tmp.js';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

const table = new CaseTable('slow-transfers', 'Servers that trickle: manifest, git, preload bundles');
/** A command that has to be killed at this point has hung: the limits under test are a few seconds. */
const HANG_MS = 45_000;
const RATE = 'low_speed_limit = 100\nlow_speed_time = 1\n';

interface RouteCtx {
  /** Counts body bytes written. */
  sent(n: number): void;
  /** setInterval that the server's teardown stops; returns a stop function. */
  every(ms: number, fn: () => void): () => void;
}
type Route = (res: ServerResponse, ctx: RouteCtx) => void;

/** An HTTP server on 127.0.0.1 whose routes misbehave; counts the body bytes each request got out. */
async function misbehave(t: Teardown, routes: Record<string, Route>): Promise<{ url: string; sent: Map<string, number> }> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const sent = new Map<string, number>();
  const server = createServer((req, res) => {
    const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
    if (!route) return void res.writeHead(404).end();
    const key = req.url ?? '';
    sent.set(key, 0);
    const every = (ms: number, fn: () => void) => {
      const tm = setInterval(fn, ms);
      timers.add(tm);
      return () => void (clearInterval(tm), timers.delete(tm));
    };
    route(res, { sent: (n) => void sent.set(key, (sent.get(key) ?? 0) + n), every });
  });
  server.on('connection', (s) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const tm of timers) clearInterval(tm);
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sent };
}
/** Writes `chunk` every `ms` until the client goes away. */
function drip(res: ServerResponse, ctx: RouteCtx, chunk: () => Buffer, ms: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  const stop = ctx.every(ms, () => {
    if (res.destroyed) return stop();
    const c = chunk();
    res.write(c);
    ctx.sent(c.length);
  });
  res.on('close', stop);
}

/** Writes `head`, then zeros as fast as the client takes them, up to `total` bytes. */
function flood(res: ServerResponse, ctx: RouteCtx, head: Buffer, total: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  const zeros = Buffer.alloc(64 * 1024);
  let n = 0;
  let first = true;
  const more = () => {
    while (n < total && !res.destroyed) {
      const c = first ? head : zeros;
      first = false;
      n += c.length;
      ctx.sent(c.length);
      if (!res.write(c)) return void res.once('drain', more);
    }
    if (!res.destroyed) res.end();
  };
  more();
}

t.test('a trickling, silent or endless manifest server: grok-pull gives up within its limits and says why', async (t) => {
  const dir = tmpDir(t, 'grok-slow-manifest-');
  const srv = await misbehave(t, {
    '/drip/manifest.js': (res, ctx) => drip(res, ctx, () => Buffer.from(' '), 300),
    '/silent/manifest.js': () => {},
    '/steady/manifest.js': (res, ctx) => drip(res, ctx, () => Buffer.alloc(100, 0x20), 250),
  });
  const cases = [
    { name: 'one byte every 300 ms (3 B/s, the minimum 100 B/s)', route: 'drip', extra: 'manifest_timeout = 20\n', want: /warning: manifest: attempt 1 of 3 failed: .*fewer than 100 bytes\/s for 1 s/, final: /fewer than 100 bytes\/s.*\(after 3 attempts\)/ },
    { name: 'a server that never answers', route: 'silent', extra: 'manifest_timeout = 20\n', want: /warning: manifest: attempt 1 of 3 failed: .*fewer than 100 bytes\/s for 1 s \(0 bytes/, final: /\(after 3 attempts\)/ },
    { name: '400 B/s for ever (above the minimum): the deadline, shared by the attempts', route: 'steady', extra: 'manifest_timeout = 4\n', want: /not done after 4 s \(\[remote\] manifest_timeout\)/, final: /not done after 4 s.*\(after 1 attempt\)/ },
  ];
  const runs = await Promise.all(
    cases.map((c) => {
      const conf = path.join(dir, `${c.route}.conf`);
      const top = path.join(dir, c.route);
      writeFileSync(conf, `[core]\ntoplevel = ${top}\n[remote]\nsite = http://127.0.0.1:9\nmanifest = ${srv.url}/${c.route}/manifest.js\n${RATE}${c.extra}`);
      return runBounded(BIN.pull, ['-c', conf], HANG_MS);
    }),
  );
  for (const [i, c] of cases.entries()) {
    const r = runs[i]!;
    const ok = !r.overran && r.code === 1 && c.want.test(r.stderr) && /error: cannot fetch the manifest: /.test(r.stderr) && c.final.test(r.stderr) && /\[GROK_ERR_MANIFEST_FETCH\]$/m.test(r.stderr);
    const result = r.overran ? `still running after ${HANG_MS / 1000} s; killed` : `exit ${r.code} after ${(r.ms / 1000).toFixed(1)} s: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`;
    t.ok(table.add(`manifest: ${c.name}`, 'a warning per failed attempt, then MANIFEST_FETCH, exit 1', result, ok), c.name);
  }
});

/** A repository of incompressible data: its pack is as large as the data. */
function bigRepo(dir: string, bytes: number): void {
  const work = `${dir}.work`;
  mkdirSync(work, { recursive: true });
  git(['init', '-q', '-b', 'master', work]);
  writeFileSync(path.join(work, 'blob.bin'), randomBytes(bytes));
  git(['add', '-A'], { cwd: work });
  git(['commit', '-q', '-m', 'big'], { cwd: work });
  git(['clone', '-q', '--bare', work, dir]);
}

t.test('a git server that trickles: the clone is given up (minimum rate, time limit), the pass ends', async (t) => {
  const dir = tmpDir(t, 'grok-slow-git-');
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'small.git'), { commits: 3 });
  bigRepo(path.join(top, 'big.git'), 64 * 1024);
  const origin = await startTestOrigin(t, top);
  const proxy = await startFaultProxy(t, Number(new URL(origin.url).port));
  const mirror = path.join(dir, 'mirror');
  const conf = path.join(dir, 'replica.conf');
  // The manifest straight from the origin; git through the proxy.
  writeFileSync(conf, `[core]\ntoplevel = ${mirror}\n[remote]\nsite = ${proxy.url}\nmanifest = ${origin.url}/manifest.js.gz\nlow_speed_limit = 1000\nlow_speed_time = 1\ngit_timeout = 4\n[pull]\nretries = 1\n`);
  const cases = [
    { name: '10 B/s (below the minimum of 1000 B/s)', rule: { bytes: 1, delayMs: 100 }, failed: ['big.git', 'small.git'], want: /Operation too slow/ },
    { name: '4000 B/s (above the minimum) of a 64 KiB pack: the 4 s time limit', rule: { bytes: 400, delayMs: 100 }, failed: ['big.git'], want: /killed after 4 s, the time limit for this git command/ },
  ];
  for (const c of cases) {
    proxy.setRule({ fault: 'trickle', match: /info\/refs|git-upload-pack/, ...c.rule });
    const r = await runBounded(BIN.pull, ['-c', conf, '-n'], HANG_MS);
    const failed = ['big.git', 'small.git'].filter((k) => !existsSync(path.join(mirror, k, 'HEAD')));
    const ok = !r.overran && r.code === 1 && c.want.test(r.stderr) && failed.join() === c.failed.join();
    const result = r.overran ? `still running after ${HANG_MS / 1000} s; killed` : `exit ${r.code} after ${(r.ms / 1000).toFixed(1)} s; not mirrored: ${failed.join(', ') || 'none'}; ${(c.want.exec(r.stderr) ?? ['no reason given'])[0]}`;
    t.ok(table.add(`git: ${c.name}`, `the pass ends by itself; ${c.failed.join(', ')} failed with the reason`, result, ok), c.name);
  }
  proxy.setRule(null);
  const r = await runBounded(BIN.pull, ['-c', conf, '-n'], HANG_MS);
  t.equal(r.code, 0, `the server well again, the next pass mirrors both: ${r.stderr}`);
  for (const k of ['big.git', 'small.git']) t.ok(fsckOk(path.join(mirror, k)).ok, `${k}: git fsck`);
});

t.test('preload bundles: dripped, stalled, endless or junk after a good header: given up early, nothing left, the lock free', async (t) => {
  const dir = tmpDir(t, 'grok-slow-bundle-');
  const repo = path.join(dir, 'r.git');
  makeRepo(repo, { commits: 5 });
  const bundle = path.join(dir, 'r.bundle');
  git([`--git-dir=${repo}`, 'bundle', 'create', bundle, '--all']);
  const bytes = readFileSync(bundle);
  const header = bytes.subarray(0, bytes.indexOf('\n\n') + 2);
  git([`--git-dir=${repo}`, 'bundle', 'create', path.join(dir, 'thin.bundle'), 'master~1..master']);
  const thin = readFileSync(path.join(dir, 'thin.bundle'));
  let at = 0;
  const srv = await misbehave(t, {
    '/drip/net.bundle': (res, ctx) => drip(res, ctx, () => bytes.subarray(at, (at = Math.min(at + 12, bytes.length))), 1000),
    '/stall/net.bundle': (res) => void res.writeHead(200).write(header.subarray(0, 10)),
    '/endless/net.bundle': (res, ctx) => {
      let first = true;
      drip(res, ctx, () => (first ? ((first = false), Buffer.concat([header, Buffer.from('PACK')])) : Buffer.alloc(100)), 250);
    },
    '/zeros-after-header/net.bundle': (res, ctx) => flood(res, ctx, header, 300 * 1024 * 1024),
    '/zeros/net.bundle': (res, ctx) => flood(res, ctx, Buffer.alloc(0), 300 * 1024 * 1024),
    '/prerequisite/net.bundle': (res) => res.writeHead(200).end(thin),
    '/good/net.bundle': (res) => res.writeHead(200).end(bytes),
  });
  const g = new Git({ env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } });
  const limits = { rate: { lowSpeedLimit: 100, lowSpeedTimeMs: 1000 }, timeoutMs: 4000, maxBytes: 1024 ** 3 };
  const cases: { name: string; route: string; want: RegExp; sentBelow?: number }[] = [
    { name: '12 bytes a second', route: 'drip', want: /download given up: fewer than 100 bytes\/s for 1 s/ },
    { name: 'ten bytes, then silence', route: 'stall', want: /download given up: fewer than 100 bytes\/s/ },
    { name: 'a good start, then 400 B/s for ever: the 4 s deadline', route: 'endless', want: /download given up: not done after 4 s \(\[remote\] preload_bundle_timeout\)/ },
    { name: 'a good header, then 300 MB of zeros', route: 'zeros-after-header', want: /not a complete git bundle: it has no pack after its header/, sentBelow: 16 * 1024 * 1024 },
    { name: '300 MB of zeros', route: 'zeros', want: /not a complete git bundle: it does not start with a git bundle signature/, sentBelow: 16 * 1024 * 1024 },
    { name: 'a bundle with prerequisites', route: 'prerequisite', want: /not a complete git bundle: it needs objects it does not hold/ },
  ];
  for (const [i, c] of cases.entries()) {
    const obst = path.join(dir, 'objstore', `net${i}.git`);
    mkdirSync(path.dirname(obst), { recursive: true });
    at = 0;
    const started = Date.now();
    const res = await Promise.race([preloadObjstore(g, obst, 'net', `${srv.url}/${c.route}`, limits), new Promise<null>((r) => setTimeout(() => r(null), HANG_MS))]);
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    const sent = srv.sent.get(`/${c.route}/net.bundle`) ?? 0;
    const left = readdirSync(path.dirname(obst)).filter((n) => n.includes(`net${i}`));
    const lock = await acquireLock(lockPathFor(obst), { timeoutMs: 0 }).then((l) => (void l.release(), 'free'), () => 'held');
    const failed = res?.status === 'failed' ? (res as Extract<PreloadResult, { status: 'failed' }>).reason : null;
    const ok = failed !== null && c.want.test(failed) && (c.sentBelow === undefined || sent < c.sentBelow) && left.every((n) => n.endsWith('.lock')) && lock === 'free';
    const result = res === null ? `still downloading after ${HANG_MS / 1000} s` : `${res.status} after ${secs} s (${sent} bytes sent): ${failed ?? ''}; left: ${left.join(', ') || 'nothing'}; lock ${lock}`;
    t.ok(table.add(`preload bundle: ${c.name}`, `failed with the reason${c.sentBelow ? ', the download stopped at once' : ''}, nothing left, lock free`, result, ok), c.name);
  }
  const obst = path.join(dir, 'objstore', 'good.git');
  t.match(await preloadObjstore(g, obst, 'net', `${srv.url}/good`, limits), { status: 'preloaded' }, 'a good bundle still preloads');
  t.ok(fsckOk(obst).ok, 'git fsck');
  const capped = await preloadObjstore(g, path.join(dir, 'objstore', 'capped.git'), 'net', `${srv.url}/good`, { ...limits, maxBytes: 100 });
  t.match(capped, { status: 'failed', reason: /larger than 100 bytes \(the preload bundle size cap, \[remote\] preload_bundle_max_size\)/ });
  const config = buildConfig(parseIni(`[core]\ntoplevel = ${dir}\n[remote]\npreload_bundle_max_size = 10K\npreload_bundle_timeout = 90\n${RATE}`, path.join(dir, 'r.conf')));
  const ctx = workContext(config, g, dir, new Map(), async () => {});
  t.match(ctx.transfer, { preloadMaxBytes: 10 * 1024, preloadTimeoutMs: 90_000, rate: { lowSpeedLimit: 100, lowSpeedTimeMs: 1000 } }, 'the cap and limits come from [remote]');
});

t.teardown(() => {
  table.write('Limits narrowed to seconds ([remote] low_speed_limit = 100 or 1000, low_speed_time = 1, timeouts of 4 s); a run still going after 45 s counts as hung.');
});
