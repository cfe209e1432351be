/**
 * The replica at 1M entries (issue 19), side by side with the real grokmirror in the same run: a
 * manifest of 1,000,001 entries (file://) of which the config wants one real repository. Each tool
 * first mirrors it, then the origin changes that repository and each runs one pass (the figure);
 * the daemon's figures come from daemonFigures. `npm run bench -- --only=replica-1m` runs just this
 * and rewrites its section of BENCHMARKS.md (REPLICA_ENTRIES sets the size).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { startFeedOrigin } from '../helpers/feed-origin.js';
import { BIN, REPO_ROOT } from '../helpers/fixture.js';
import { GIT_ENV } from '../helpers/git.js';
import { median } from './measure.js';
import { writeSection } from './sections.js';
import { peerMissing, PEER_DIR } from '../interop/peer.js';
import { makeReplica1M, type Replica1M } from './replica-1m.js';
import { timeProcess, type Sample } from './measure.js';

export interface PassFigures {
  readonly entries: number;
  readonly ours: Sample[];
  /** null when grokmirror cannot run here (the reason in `peerMissing`). */
  readonly peer: Sample[] | null;
  /** The same passes with the manifest as one gzip member. */
  readonly onePiece: { readonly ours: Sample[]; readonly peer: Sample[] | null };
  readonly peerMissing: string | null;
}

const ourPass = (s: Replica1M, args: string[] = []): Sample => timeProcess([process.execPath, BIN.pull, '-c', s.conf, ...args]);
const peerPass = (s: Replica1M): Sample => timeProcess(['env', `PYTHONPATH=${PEER_DIR}`, 'PYTHONDONTWRITEBYTECODE=1', 'python3', '-m', 'grokmirror.pull', '-c', s.peerConf]);

/**
 * `reps` passes of each tool, each after one change at the origin: on the manifest as grok-manifest
 * writes it (sliced, one gzip member per slice), then rewritten after each change as one gzip member
 * (level 6), the form grokmirror writes, which cannot be inflated a slice at a time.
 */
export function benchReplicaPass(work: string, count: number, reps: number, log: (s: string) => void = console.log): PassFigures {
  const s = makeReplica1M(path.join(work, `replica-${count}`), count);
  const missing = peerMissing();
  log(`replica ${count}: initial passes${missing ? ` (grokmirror left out: ${missing})` : ''}`);
  ourPass(s);
  if (!missing) peerPass(s);
  const run = (onePiece: boolean) => {
    const ours: Sample[] = [];
    const peer: Sample[] = [];
    for (let i = 0; i < reps; i++) {
      s.change();
      if (onePiece) writeFileSync(s.manifest, gzipSync(gunzipSync(readFileSync(s.manifest))));
      ours.push(ourPass(s));
      log(`  ours${onePiece ? ' (one member)' : ''}: ${(ours.at(-1)!.ms / 1000).toFixed(2)} s, ${((ours.at(-1)!.rssKb ?? 0) / 1024).toFixed(0)} MB`);
      if (!missing) {
        peer.push(peerPass(s));
        log(`  grokmirror: ${(peer.at(-1)!.ms / 1000).toFixed(2)} s, ${((peer.at(-1)!.rssKb ?? 0) / 1024).toFixed(0)} MB`);
      }
    }
    return { ours, peer: missing ? null : peer };
  };
  const sliced = run(false);
  const onePiece = run(true);
  return { entries: count, ...sliced, onePiece, peerMissing: missing };
}

export interface DaemonFigures {
  readonly firstPassMs: number;
  /** after the first full pass, and the peak over the whole run (VmHWM) */
  readonly rssMb: number;
  readonly peakRssMb: number;
  /** feed event sent to the ref on the replica, ms */
  readonly eventMs: number[];
  readonly reconnectMs: number;
  readonly manifestDownloads: number;
  readonly downloaded: { manifest: number; feed: number };
}

const procKb = (pid: number, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * grok-pull -o on the same manifest, served over HTTP with a change feed under the bench's control:
 * the first full pass, RSS, feed events applied, and a dropped feed caught up through the feed.
 */
export async function benchDaemon(work: string, count: number, events: number): Promise<DaemonFigures> {
  const s = makeReplica1M(path.join(work, `replica-${count}`), count);
  const cleanup: (() => void | Promise<void>)[] = [];
  try {
    const origin = await startFeedOrigin({ teardown: (fn) => cleanup.push(fn) }, { '/manifest.js.gz': s.manifest });
    const top = path.join(s.dir, 'daemon');
    rmSync(top, { recursive: true, force: true });
    mkdirSync(top);
    const port = await freePort();
    const conf = path.join(s.dir, 'daemon.conf');
    writeFileSync(conf, `[core]\ntoplevel = ${top}\nmanifest = ${top}/manifest.js.gz\nlog = ${s.dir}/daemon.log\n[remote]\nsite = ${s.originTop}\nmanifest = ${origin.url}/manifest.js.gz\n[pull]\ninclude = ${s.real.join('\n  ')}\nrefresh = 3600\nstatus_listen = 127.0.0.1:${port}\n`);
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN.pull, '-o', '-c', conf], { env: GIT_ENV, stdio: 'ignore' });
    cleanup.push(async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    });
    const metrics = async () => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).catch(() => '');
    const metric = (text: string, name: string) => Number(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    await until('the first full pass', async () => metric(await metrics(), 'grokmirror_replica_passes_total{kind="full",result="done"}') >= 1, 600_000);
    const firstPassMs = performance.now() - t0;
    await origin.connected(1);
    const rssMb = procKb(child.pid!, 'VmRSS') / 1024;
    // Entries as grok-manifest writes them, from a manifest of the real repositories alone.
    const small = path.join(s.dir, 'daemon-small.js.gz');
    const repo = path.join(s.originTop, s.real[0]!);
    const mirrorRepo = path.join(top, s.real[0]!);
    const commits = execFileSync('git', [`--git-dir=${repo}`, 'rev-list', 'master~1'], { env: GIT_ENV, encoding: 'utf8' }).trim().split('\n');
    const push = (i: number) => {
      execFileSync('git', [`--git-dir=${repo}`, 'update-ref', 'refs/heads/bench', commits[i % commits.length]!], { env: GIT_ENV });
      execFileSync(process.execPath, [BIN.manifest, '-m', small, '-t', s.originTop], { env: GIT_ENV });
      return { sha: commits[i % commits.length]!, entry: (JSON.parse(gunzipSync(readFileSync(small)).toString('utf8')) as Record<string, unknown>)[s.real[0]!] };
    };
    const mirrored = (sha: string) => () => {
      try {
        return execFileSync('git', [`--git-dir=${mirrorRepo}`, 'rev-parse', 'refs/heads/bench'], { env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() === sha;
      } catch {
        return false;
      }
    };
    const eventMs: number[] = [];
    let id = 100;
    for (let i = 0; i < events; i++) {
      const { sha, entry } = push(i);
      const sent = performance.now();
      origin.send(++id, s.real[0]!, entry);
      await until('a feed event applied', mirrored(sha), 60_000);
      eventMs.push(performance.now() - sent);
    }
    origin.drop();
    const { sha, entry } = push(events);
    await origin.connected(2);
    const back = performance.now();
    origin.send(++id, s.real[0]!, entry);
    await until('the missed event applied', mirrored(sha), 60_000);
    const reconnectMs = performance.now() - back;
    const text = await metrics();
    const downloaded = { manifest: metric(text, 'grokmirror_replica_downloaded_bytes_total{what="manifest"}'), feed: metric(text, 'grokmirror_replica_downloaded_bytes_total{what="feed"}') };
    return { firstPassMs, rssMb, peakRssMb: procKb(child.pid!, 'VmHWM') / 1024, eventMs, reconnectMs, manifestDownloads: origin.downloads.get('/manifest.js.gz') ?? 0, downloaded };
  } finally {
    for (const fn of cleanup.reverse()) await fn();
  }
}

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const mbOf = (kb: number | null) => (kb === null ? 'n/a' : `${(kb / 1024).toFixed(0)} MB`);
const pass = (xs: readonly Sample[]) =>
  `${fmt(median(xs.map((x) => x.ms)))} wall, ${xs.every((x) => x.cpuMs !== null) ? fmt(median(xs.map((x) => x.cpuMs!))) : 'n/a'} CPU, peak RSS ${mbOf(Math.max(...xs.map((x) => x.rssKb ?? 0)))}`;

/** Runs the 1M replica figures and rewrites the "replica-1m" section of BENCHMARKS.md (bench-out/ when quick). */
export async function benchReplica1M(work: string, quick: boolean): Promise<void> {
  const count = quick ? 100_001 : Number(process.env.REPLICA_ENTRIES ?? 1_000_001);
  const load = os.loadavg().map((x) => x.toFixed(1)).join(', ');
  const p = benchReplicaPass(work, count, quick ? 1 : 3);
  const d = await benchDaemon(work, count, quick ? 3 : 10);
  const loadAfter = os.loadavg().map((x) => x.toFixed(1)).join(', ');
  const ratio = (a: Sample[], b: Sample[]) => (median(b.map((x) => x.ms)) / median(a.map((x) => x.ms))).toFixed(1);
  const cpuRatio = (a: Sample[], b: Sample[]) => (median(b.map((x) => x.cpuMs ?? NaN)) / median(a.map((x) => x.cpuMs ?? NaN))).toFixed(1);
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  const machine = `${os.availableParallelism()} cores (${(os.cpus()[0]?.model ?? 'unknown').trim()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`;
  const body = `## 1M replica

\`npm run bench -- --only=replica-1m\` on ${new Date().toISOString().slice(0, 10)}, commit ${commit}. Machine: ${machine}; load average
${load} before, ${loadAfter} after (other work shares the machine: wall times are inflated, CPU time is the steadier figure).
A manifest of ${count.toLocaleString('en')} entries (file://, gzip ${(readFileSync(path.join(work, `replica-${count}`, 'manifest.js.gz')).length / 1e6).toFixed(0)} MB) of which \`[pull] include\` wants one real
repository; each pass follows one change to it at the origin, which leaves the manifest in the sliced form grok-manifest writes (medians of ${p.ours.length}; grokmirror in the same run, same config).

| | grokmirror-ts | grokmirror 2.x | target |
|---|---|---|---|
| one pass after one change | ${pass(p.ours)} | ${p.peer ? pass(p.peer) : `not run: ${p.peerMissing}`} | 5x faster than grokmirror, less memory |
| ratio (grokmirror / ours) | ${p.peer ? `${ratio(p.ours, p.peer)}x wall, ${cpuRatio(p.ours, p.peer)}x CPU` : '-'} | | |
| the same, the manifest rewritten as one gzip member (grokmirror's form) | ${pass(p.onePiece.ours)} | ${p.onePiece.peer ? pass(p.onePiece.peer) : '-'} | |
| ratio (grokmirror / ours), one member | ${p.onePiece.peer ? `${ratio(p.onePiece.ours, p.onePiece.peer)}x wall, ${cpuRatio(p.onePiece.ours, p.onePiece.peer)}x CPU` : '-'} | | |
| grok-pull -o: first full pass, RSS after it, peak RSS | ${fmt(d.firstPassMs)}, ${d.rssMb.toFixed(0)} MB, peak ${d.peakRssMb.toFixed(0)} MB | - | RSS < 1 GB |
| grok-pull -o: feed event to ref on the replica (${d.eventMs.length} events) | median ${fmt(median(d.eventMs))}, max ${fmt(Math.max(...d.eventMs))} | next poll | < 1 s |
| grok-pull -o: feed dropped, a push meanwhile, caught up after the reconnect | ${fmt(d.reconnectMs)} from the reconnect; manifest downloaded ${d.manifestDownloads} time(s) in all (the first pass) | - | through the feed, no manifest download |
| /metrics \`grokmirror_replica_downloaded_bytes_total\` | manifest ${(d.downloaded.manifest / 1e6).toFixed(1)} MB, feed ${d.downloaded.feed} bytes | - | reported |
`;
  const out = quick ? path.join(REPO_ROOT, 'bench-out', 'BENCHMARKS.quick.md') : path.join(REPO_ROOT, 'BENCHMARKS.md');
  mkdirSync(path.dirname(out), { recursive: true });
  writeSection(out, 'replica-1m', body);
  console.log(body);
}
