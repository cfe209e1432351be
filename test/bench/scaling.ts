/**
 * How the manifest operations grow with the collection: for manifests of 1k, 10k and 100k entries,
 * a push's update stand-alone (`grok-manifest -n`, a new process) and through grok-origin (the
 * notice's latency, and the same hook handing off to the server), reading the manifest on a replica
 * (inflate and validate), and grok-origin's start-up and memory. One real repository is updated; the
 * other entries are synthetic (no repositories on disk), since these are operations on the manifest.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decodeManifest } from '../../shared/manifest/io.js';
import { BIN } from '../helpers/fixture.js';
import { makeSeed, writeSyntheticManifest } from './gen.js';
import { median, timeProcess } from './measure.js';
import { startServer, stopProcess } from './server.js';

export interface ScalePoint {
  readonly entries: number;
  readonly gzipBytes: number;
  /** medians, ms */
  readonly standaloneMs: number;
  readonly noticeMs: number;
  readonly handoffMs: number;
  readonly readMs: number;
  readonly originStartMs: number;
  readonly originRssMb: number;
}

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export async function benchScaling(work: string, sizes: readonly number[], reps: number): Promise<ScalePoint[]> {
  const seed = path.join(work, 'scale-seed.git');
  const commits = makeSeed(seed, 200);
  const points: ScalePoint[] = [];
  for (const n of sizes) {
    const top = path.join(work, `scale${n}`);
    rmSync(top, { recursive: true, force: true });
    mkdirSync(path.join(top, 'live'), { recursive: true });
    const repo = path.join(top, 'live/repo.git');
    cpSync(seed, repo, { recursive: true });
    const manifest = path.join(top, 'manifest.js.gz');
    writeSyntheticManifest(manifest, n - 1, { '/live/repo.git': { fingerprint: '0'.repeat(40), head: 'ref: refs/heads/master', modified: 1, reference: null } });
    let next = 0;
    const change = () => writeFileSync(path.join(repo, 'refs/heads/bench'), `${commits[next++ % commits.length]}\n`);
    const hook = () => {
      change();
      return timeProcess([process.execPath, BIN.manifest, '-n', '-m', manifest, '-t', top, repo]).ms;
    };
    const standalone = median(Array.from({ length: reps }, hook));
    const gz = readFileSync(manifest);
    const read = median(
      Array.from({ length: reps }, () => {
        const t0 = performance.now();
        decodeManifest(gz, 'bench', { gzip: true });
        return performance.now() - t0;
      }),
    );

    const conf = path.join(work, `scale${n}.conf`);
    writeFileSync(conf, `[core]\ntoplevel = ${top}\nmanifest = ${manifest}\n[origin]\nlisten = 127.0.0.1:0\n`);
    const t0 = performance.now();
    const { url, child } = await startServer(conf);
    const originStartMs = performance.now() - t0;
    try {
      const token = (JSON.parse(readFileSync(path.join(top, '.manifest.js.gz.origin'), 'utf8')) as { token: string }).token;
      const notice = async () => {
        change();
        const s = performance.now();
        const res = await fetch(`${url}/_grok/notify`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ paths: [repo] }) });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`notify ${res.status}`);
        return performance.now() - s;
      };
      const lat: number[] = [];
      for (let i = 0; i < reps * 3; i++) lat.push(await notice());
      // the same hook command as above, now handing its path to the running server
      const handoff = median(Array.from({ length: reps }, hook));
      points.push({
        entries: n,
        gzipBytes: gz.length,
        standaloneMs: standalone,
        noticeMs: median(lat),
        handoffMs: handoff,
        readMs: read,
        originStartMs,
        originRssMb: rssMb(child.pid!),
      });
    } finally {
      await stopProcess(child);
      rmSync(top, { recursive: true, force: true });
    }
  }
  rmSync(seed, { recursive: true, force: true });
  return points;
}
