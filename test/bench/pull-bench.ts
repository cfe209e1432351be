/**
 * grok-pull against grok-origin (both as separate processes) on the 1000-repo collection: initial
 * mirror and a 50-of-1000 incremental pass, each against its floor (the raw git commands at the
 * same concurrency), the no-change pass (304), push-to-replica latency through the change feed, and
 * the daemon's memory with a 100k-entry manifest (mirroring only 20 of them).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BIN } from '../helpers/fixture.js';
import { GIT_ENV } from '../helpers/git.js';
import { cloneFloor, measureIncremental, notify, startPullOrigin, writeReplicaConf, type IncrementalFigures } from './incremental-bench.js';
import { median, timeProcess } from './measure.js';
import { startServer, stopProcess } from './server.js';

export interface PullFigures {
  initialMs: number;
  initialFloorMs: number;
  incremental: IncrementalFigures;
  noChangeMs: number;
  latencyP50: number;
  latencyP99: number;
  /** every push's latency, ms */
  latencies: number[];
  pushes: number;
  daemonRssMb: number;
}

export async function benchPull(work: string, top: string, repos: string[], quick: boolean, threads: number, bigEntries: number): Promise<PullFigures> {
  const { url, token, child } = await startPullOrigin(work, top);
  const mirror = path.join(work, 'mirror1000');
  const rconf = path.join(work, 'pull-replica.conf');
  const replicaConf = (extra = '') => writeReplicaConf(rconf, mirror, url, threads, extra);
  replicaConf();
  const floorDir = path.join(work, 'floor1000');
  try {
    rmSync(mirror, { recursive: true, force: true });
    const initial = timeProcess([process.execPath, BIN.pull, '-c', rconf]);
    const initialFloorMs = await cloneFloor(url, top, repos, floorDir, threads);
    const incremental = await measureIncremental({ work, top, repos, url, token, rconf, floorDir, threads, rounds: quick ? 3 : 7 });
    const noChange = median(Array.from({ length: quick ? 3 : 7 }, () => timeProcess([process.execPath, BIN.pull, '-c', rconf]).ms));

    // push-to-replica latency through the feed, daemon running, polling an hour apart
    replicaConf('refresh = 3600\n');
    const daemon = spawn(process.execPath, [BIN.pull, '-c', rconf, '-o'], { env: GIT_ENV, stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 2500));
    const lat: number[] = [];
    const pushes = quick ? 20 : 100;
    const masters = repos.slice(0, 10).map((r) => readFileSync(path.join(r, 'refs/heads/master'), 'utf8').trim());
    for (let i = 0; i < pushes; i++) {
      // each of 10 repos, round after round, moves its branch between two commits: always a change
      const k = i % 10;
      const r = repos[k]!;
      const want = Math.floor(i / 10) % 2 === 0 ? masters[(k + 1) % 10]! : masters[k]!;
      writeFileSync(path.join(r, 'refs/heads/live'), `${want}\n`);
      const s = performance.now();
      await notify(url, token, [r]);
      const target = path.join(mirror, path.relative(top, r));
      for (;;) {
        const files = readRefHead(target, 'refs/heads/live');
        if (files === want) break;
        if (performance.now() - s > 10_000) throw new Error('push did not arrive in 10 s');
        await new Promise((res) => setTimeout(res, 2));
      }
      lat.push(performance.now() - s);
    }
    await stopProcess(daemon);
    lat.sort((a, b) => a - b);
    return {
      initialMs: initial.ms,
      initialFloorMs,
      incremental,
      noChangeMs: noChange,
      latencyP50: median(lat),
      latencyP99: lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))]!,
      latencies: lat,
      pushes,
      daemonRssMb: await daemonRss(work, bigEntries),
    };
  } finally {
    await stopProcess(child);
  }
}

/** A ref's value from its loose file or packed-refs (the replica may have packed it). */
function readRefHead(repo: string, ref: string): string {
  try {
    return readFileSync(path.join(repo, ref), 'utf8').trim();
  } catch {
    const packed = existsSync(path.join(repo, 'packed-refs')) ? readFileSync(path.join(repo, 'packed-refs'), 'utf8') : '';
    return packed.split('\n').find((l) => l.endsWith(` ${ref}`))?.split(' ')[0] ?? '';
  }
}

/** The daemon with the 100k-entry origin manifest (mirroring only its 20 live repositories). */
async function daemonRss(work: string, entries: number): Promise<number> {
  const top = path.join(work, `origin${entries}`);
  if (!existsSync(top)) return NaN;
  const conf = path.join(work, 'rss-origin.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${top}\nmanifest = ${path.join(top, 'manifest.js.gz')}\n[origin]\nlisten = 127.0.0.1:0\n`);
  const { url, child } = await startServer(conf);
  const mirror = path.join(work, 'mirror100k');
  rmSync(mirror, { recursive: true, force: true });
  const rconf = path.join(work, 'rss-replica.conf');
  writeFileSync(rconf, `[core]\ntoplevel = ${mirror}\nmanifest = \${toplevel}/manifest.js.gz\n[remote]\nsite = ${url}\nmanifest = \${site}/manifest.js.gz\n[pull]\ninclude = /live/*\nrefresh = 2\n`);
  const daemon = spawn(process.execPath, [BIN.pull, '-c', rconf, '-o'], { env: GIT_ENV, stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 8000));
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${daemon.pid}/status`, 'utf8'));
  await stopProcess(daemon);
  await stopProcess(child);
  return m ? Number(m[1]) / 1024 : NaN;
}
