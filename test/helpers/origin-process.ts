/**
 * grok-origin as installed (dist/bin), a real process in its own process group (see killable.ts),
 * started and waited for until it listens: for tests that need its own event loop, its exit status,
 * or a kill -9.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN } from './fixture.js';
import { spawnKillable, type Killable } from './killable.js';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export interface OriginProcess {
  readonly proc: Killable;
  /** http://127.0.0.1:<port>, from its "listening on" line. */
  readonly url: string;
  readonly port: number;
  /** SIGTERM, then its exit status (the same promise however often it is called). */
  stop(): Promise<number | null>;
  /** Its resident set size now, in kB. */
  rssKb(): number;
  stderr(): string;
}

export interface OriginProcessOptions {
  /** Stops it (SIGTERM, then SIGKILL to the group if it has not gone in 10 s) when the test ends. */
  readonly t?: Teardown;
  readonly args?: readonly string[];
}

export async function startOriginProcess(conf: string, opts: OriginProcessOptions = {}): Promise<OriginProcess> {
  const proc = spawnKillable(BIN.origin, ['-c', conf, ...(opts.args ?? [])]);
  const until = Date.now() + 60_000;
  let m: RegExpExecArray | null;
  while (!(m = /listening on (http:\/\/[^\s]+:(\d+))/.exec(proc.stdout()))) {
    if (proc.exited()) throw new Error(`grok-origin exited: ${proc.stderr()}`);
    if (Date.now() > until) throw new Error('grok-origin did not start listening in a minute');
    await sleep(20);
  }
  let stopping: Promise<number | null> | null = null;
  const stop = () => (stopping ??= (proc.exited() || proc.child.kill('SIGTERM'), proc.ended));
  opts.t?.teardown(async () => {
    const done = await Promise.race([stop().then(() => true), sleep(10_000).then(() => false)]);
    if (!done) proc.kill('group');
  });
  return {
    proc,
    url: m[1]!,
    port: Number(m[2]),
    stop,
    rssKb: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))?.[1] ?? 0),
    stderr: () => proc.stderr(),
  };
}
