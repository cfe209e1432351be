/** Timing helpers: wall time of a real process, medians, and peak RSS via GNU time when present. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GIT_ENV } from '../helpers/git.js';

export interface Sample {
  readonly ms: number;
  readonly rssKb: number | null;
  /** user + system CPU time of the process and its children (git), from GNU time. */
  readonly cpuMs: number | null;
  /**
   * Bytes the process and its children wrote to storage (GNU time's %O, file system outputs in
   * 512-byte units: on Linux the kernel's write_bytes I/O accounting, the same as /proc/<pid>/io).
   */
  readonly writtenBytes: number | null;
  /** What it printed, stdout then stderr. */
  readonly output: string;
}

const GNU_TIME = '/usr/bin/time';

export function timeProcess(argv: string[], opts: { cwd?: string; capSeconds?: number } = {}): Sample & { capped?: boolean } {
  const rssFile = path.join(os.tmpdir(), `grok-bench-rss-${process.pid}`);
  const useTime = existsSync(GNU_TIME);
  // A cap kills the command (not GNU time) so that its CPU and peak RSS up to then are still reported.
  const capped = opts.capSeconds === undefined ? argv : ['timeout', '-s', 'KILL', String(opts.capSeconds), ...argv];
  const full = useTime ? [GNU_TIME, '-f', '%M %U %S %O', '-o', rssFile, ...capped] : capped;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(full[0]!, full.slice(1), { env: GIT_ENV, cwd: opts.cwd, encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const hitCap = opts.capSeconds !== undefined && r.status === 137;
  if (r.status !== 0 && !hitCap) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  let rssKb: number | null = null;
  let cpuMs: number | null = null;
  let writtenBytes: number | null = null;
  if (useTime) {
    const [rss, user, sys, out] = (readFileSync(rssFile, 'utf8').trim().split('\n').pop() ?? '').split(' ').map(Number);
    rssKb = rss ?? null;
    cpuMs = ((user ?? 0) + (sys ?? 0)) * 1000;
    writtenBytes = out === undefined ? null : out * 512;
    rmSync(rssFile, { force: true });
  }
  return { ms, rssKb, cpuMs, writtenBytes, output: `${r.stdout}${r.stderr}`, ...(hitCap ? { capped: true } : {}) };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface Summary {
  readonly ms: number;
  readonly cpuMs: number | null;
  readonly rssKb: number | null;
  readonly runs: number;
}

/** Medians of wall and CPU time, and the largest peak RSS, over `n` runs. */
export function repeat(n: number, fn: (i: number) => Sample): Summary {
  const samples = Array.from({ length: n }, (_, i) => fn(i));
  const rss = samples.map((s) => s.rssKb).filter((x): x is number => x !== null);
  const cpu = samples.map((s) => s.cpuMs).filter((x): x is number => x !== null);
  return { ms: median(samples.map((s) => s.ms)), cpuMs: cpu.length ? median(cpu) : null, rssKb: rss.length ? Math.max(...rss) : null, runs: n };
}
