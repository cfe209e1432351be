/**
 * grok-origin with a large (100k-entry) manifest, as a separate process: notice-to-written latency, notice
 * throughput with a check that no update was lost, conditional-GET (304) throughput, and the
 * server's memory. Ref changes are made by writing loose ref files (what a push leaves behind)
 * so that the client side costs little next to the server.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readRefFiles } from '../../shared/git/index.js';
import { fingerprintOf } from '../../shared/repo/refs.js';
import { readManifestFile, writeManifestFile } from '../../shared/manifest/io.js';
import { makeSeed, writeSyntheticManifest } from './gen.js';
import { median } from './measure.js';
import { startServer, stopProcess } from './server.js';

export interface OriginFigures {
  /** From the process start to listening. */
  startupMs: number;
  /** CPU (user + system) of the server process from its start to listening. */
  startupCpuMs: number;
  /** From the process start to /healthz saying "ok": the manifest in memory (the slices built from a file in grokmirror's form). */
  builtMs: number;
  builtCpuMs: number;
  /** Whether the first notice, sent as soon as the server listened, arrived during the build. */
  firstDuringBuild: boolean;
  /** That notice's latency (sent to answered, after its change is written). */
  firstNoticeMs: number;
  latencyP50: number;
  latencyP99: number;
  noticesPerSec: number;
  notices: number;
  lost: number;
  notModifiedPerSec: number;
  /** Manifest writes during the open loop (group commit: far fewer than the notices). */
  openLoopWrites: number;
  /** The server's CPU during the open loop, per notice. */
  openLoopCpuMsPerNotice: number;
  rssMb: number;
  peakRssMb: number;
  afterStartMb: number;
}

// Open loop: a notice waits for no other (each hook is its own process with its own connection). At
// 64 sockets the client itself capped the rate at 64 / latency (152/s at 420 ms), not the server.
const agent = new Agent({ keepAlive: true, maxSockets: 1024 });

function http(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

function procCpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

function procStatus(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** `sliced`: the manifest is rewritten in the sliced form first (as our writers leave it), else one gzip member. */
export async function benchOrigin(work: string, quick: boolean, entries: number, opts: { sliced?: boolean } = {}): Promise<OriginFigures> {
  const top = path.join(work, `origin${entries}`);
  const realCount = 20;
  rmSync(top, { recursive: true, force: true });
  mkdirSync(top, { recursive: true });
  const seed = path.join(work, 'origin-seed.git');
  const commits = makeSeed(seed, 2000);
  const repos = Array.from({ length: realCount }, (_, i) => path.join(top, `live/repo${i}.git`));
  for (const r of repos) cpSync(seed, r, { recursive: true });
  const manifest = path.join(top, 'manifest.js.gz');
  writeSyntheticManifest(manifest, entries);
  if (opts.sliced) await writeManifestFile(manifest, (await readManifestFile(manifest))!.entries, { pretty: false });
  const conf = path.join(work, 'origin-bench.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${top}\nmanifest = ${manifest}\n[origin]\nlisten = 127.0.0.1:0\nwrite_delay_ms = 2\n`);

  const t0 = performance.now();
  const { url, child } = await startServer(conf);
  const startupMs = performance.now() - t0;
  const startupCpuMs = procCpuMs(child.pid!);
  const token = (JSON.parse(readFileSync(path.join(top, '.manifest.js.gz.origin'), 'utf8')) as { token: string }).token;
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  let next = 0;
  const change = (repo: string) => writeFileSync(path.join(repo, 'refs/heads/bench'), `${commits[next++ % commits.length]}\n`);
  const notify = (repo: string) => http(`${url}/_grok/notify`, { method: 'POST', headers, body: JSON.stringify({ paths: [repo] }) });
  const status = async () => (JSON.parse((await http(`${url}/healthz`, {})).body.toString('utf8')) as { status: string }).status;
  try {
    // The first notice goes out as soon as the server listens: from a file in grokmirror's form it
    // arrives while the slices are built, and waits for them. /healthz says when they are.
    change(repos[0]!);
    const sent = performance.now();
    const first = notify(repos[0]!).then((res) => {
      if (res.status !== 200) throw new Error(`notify: ${res.status} ${res.body}`);
      return performance.now() - sent;
    });
    const firstDuringBuild = (await status()) === 'starting';
    while (firstDuringBuild && (await status()) !== 'ok') await new Promise((r) => setTimeout(r, 20));
    // Nothing to build (a sliced file is taken as it is): in memory when listening.
    const builtMs = firstDuringBuild ? performance.now() - t0 : startupMs;
    const builtCpuMs = firstDuringBuild ? procCpuMs(child.pid!) : startupCpuMs;
    const afterStartMb = procStatus(child.pid!, 'VmRSS');
    const firstNoticeMs = await first;
    // The other live repos are added (the synthetic entries are already there).
    for (const r of repos.slice(1)) (change(r), await notify(r));

    // A. sequential notices: time from the notice to its manifest write being on disk (the reply)
    const lat: number[] = [];
    for (let i = 0; i < (quick ? 60 : 200); i++) {
      const r = repos[i % realCount]!;
      change(r);
      const s = performance.now();
      const res = await notify(r);
      lat.push(performance.now() - s);
      if (res.status !== 200) throw new Error(`notify: ${res.status} ${res.body}`);
    }
    lat.sort((a, b) => a - b);

    // B. open loop at 250 notices/s across the live repos; every notice answered, none lost
    const writes = async () => Number(/manifest_writes_total (\d+)/.exec((await http(`${url}/metrics`, { headers })).body.toString())?.[1] ?? NaN);
    const writesBefore = await writes();
    const cpuBefore = procCpuMs(child.pid!);
    const rate = 250;
    const total = quick ? 500 : 1500;
    const started = performance.now();
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const r = repos[i % realCount]!;
      change(r);
      pending.push(notify(r).then((res) => res.status === 200 || Promise.reject(new Error(`notify ${res.status}`))));
    }
    await Promise.all(pending);
    const noticesPerSec = total / ((performance.now() - started) / 1000);
    const openLoopCpuMsPerNotice = (procCpuMs(child.pid!) - cpuBefore) / total;
    const openLoopWrites = (await writes()) - writesBefore;
    const served = JSON.parse(gunzipSync((await http(`${url}/manifest.js.gz`, {})).body).toString('utf8')) as Record<string, { fingerprint: string }>;
    let lost = 0;
    for (const r of repos) {
      const files = readRefFiles(r);
      if (!files.ok || served['/' + path.relative(top, r)]?.fingerprint !== fingerprintOf(files.refs)) lost++;
    }

    // C. conditional GETs on the 304 path, 16 keep-alive clients for a few seconds
    const etag = (await new Promise<string>((resolve) => request(`${url}/manifest.js.gz`, { method: 'HEAD', agent }, (res) => (res.resume(), resolve(String(res.headers.etag)))).end()));
    let count = 0;
    const until = performance.now() + (quick ? 1500 : 4000);
    const t304 = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (performance.now() < until) {
          const res = await http(`${url}/manifest.js.gz`, { headers: { 'if-none-match': etag } });
          if (res.status === 304) count++;
        }
      }),
    );
    const notModifiedPerSec = count / ((performance.now() - t304) / 1000);
    const rssMb = procStatus(child.pid!, 'VmRSS');
    const peakRssMb = procStatus(child.pid!, 'VmHWM');
    return { startupMs, startupCpuMs, builtMs, builtCpuMs, firstDuringBuild, firstNoticeMs, afterStartMb, latencyP50: median(lat), latencyP99: lat[Math.floor(lat.length * 0.99)] ?? NaN, noticesPerSec, notices: total, lost, notModifiedPerSec, openLoopWrites, openLoopCpuMsPerNotice, rssMb, peakRssMb };
  } finally {
    await stopProcess(child);
    agent.destroy();
    if (existsSync(seed)) rmSync(seed, { recursive: true, force: true });
  }
}
