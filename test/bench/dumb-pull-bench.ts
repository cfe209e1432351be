/**
 * grok-dumb-pull on 1000 upstreams served by grok-origin (its own process) on 127.0.0.1, 10 of them
 * changed since the last sweep: a sweep with ls-remote change detection (the default) against a
 * sweep that fetches all 1000 (`--no-detect`, what grokmirror's dumb-pull does), same concurrency.
 * Medians of wall and CPU time (CPU of grok-dumb-pull and its git children, from GNU time).
 * Run: `npm run bench:dumb` (or `node dist/test/bench/dumb-pull-bench.js` after a build);
 * BENCH_UPSTREAMS, BENCH_CHANGED, BENCH_RUNS and BENCH_JOBS override the sizes. Writes bench-out/dumb-pull.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, REPO_ROOT } from '../helpers/fixture.js';
import { makeUpstreams, writeUpstreamManifest } from '../helpers/dumb-upstreams.js';
import { pushCommit } from '../helpers/git.js';
import { median, timeProcess, type Sample } from './measure.js';
import { startServer, stopProcess } from './server.js';

const N = Number(process.env.BENCH_UPSTREAMS ?? 1000);
const CHANGED = Number(process.env.BENCH_CHANGED ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const JOBS = Number(process.env.BENCH_JOBS ?? 16);

const fmt = (ms: number | null) => (ms === null ? 'n/a' : `${(ms / 1000).toFixed(2)} s`);

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'grok-dumb-bench-'));
  try {
    const up = path.join(dir, 'up');
    const t0 = Date.now();
    const keys = makeUpstreams(up, N);
    await writeUpstreamManifest(up);
    process.stderr.write(`made ${N} upstreams in ${((Date.now() - t0) / 1000).toFixed(1)}s\n`);
    const conf = path.join(dir, 'origin.conf');
    writeFileSync(conf, `[core]\ntoplevel = ${up}\nmanifest = ${path.join(up, 'manifest.js.gz')}\n[origin]\nlisten = 127.0.0.1:0\n`);
    const { url, child } = await startServer(conf);
    try {
      const top = path.join(dir, 'mirror');
      mkdirSync(top);
      const list = path.join(dir, 'urls.txt');
      writeFileSync(list, keys.map((k) => `${url}${k}`).join('\n'));
      const base = [process.execPath, BIN.dumbPull, '--list', list, '--toplevel', top, '--manifest', path.join(top, 'manifest.js.gz'), '-j', String(JOBS), '--per-host', String(JOBS)];
      const initial = timeProcess(base);
      process.stderr.write(`initial sweep (clone all): ${fmt(initial.ms)}\n`);
      let next = 0;
      const changeSome = () => {
        for (let i = 0; i < CHANGED; i++) pushCommit(path.join(up, keys[next++ % N]!), { message: `bench ${next}` });
      };
      const detect: Sample[] = [];
      const all: Sample[] = [];
      for (let r = 0; r < RUNS; r++) {
        changeSome();
        detect.push(timeProcess(base));
        changeSome();
        all.push(timeProcess([...base, '--no-detect']));
        process.stderr.write(`run ${r + 1}: detect ${fmt(detect[r]!.ms)}, fetch all ${fmt(all[r]!.ms)}\n`);
      }
      const cpu = (xs: Sample[]) => (xs.every((s) => s.cpuMs !== null) ? median(xs.map((s) => s.cpuMs!)) : null);
      const md = [
        `## grok-dumb-pull: ${N} upstreams, ${CHANGED} changed (medians of ${RUNS} runs, -j ${JOBS}, ${os.availableParallelism()} cores)`,
        '',
        '| sweep | wall | CPU (user+sys, with git children) |',
        '|---|---|---|',
        `| ls-remote detection, fetch only the ${CHANGED} changed | ${fmt(median(detect.map((s) => s.ms)))} | ${fmt(cpu(detect))} |`,
        `| fetch all ${N} (--no-detect) | ${fmt(median(all.map((s) => s.ms)))} | ${fmt(cpu(all))} |`,
        `| initial sweep, clone all ${N} (one run) | ${fmt(initial.ms)} | ${fmt(initial.cpuMs)} |`,
        '',
      ].join('\n');
      process.stdout.write(md);
      mkdirSync(path.join(REPO_ROOT, 'bench-out'), { recursive: true });
      writeFileSync(path.join(REPO_ROOT, 'bench-out', 'dumb-pull.md'), md);
    } finally {
      await stopProcess(child);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
