/**
 * One of our commands as a real process in its own process group, so that a test can kill -9 it the
 * way a crash does: the whole group (the command and every git it started, as systemd's
 * control-group kill or the OOM killer of its cgroup would) or the command alone (its git children
 * live on as orphans and finish or fail by themselves).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { GIT_ENV } from './git.js';

export interface Killable {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly ended: Promise<number | null>;
  exited(): boolean;
  stdout(): string;
  stderr(): string;
  /** SIGKILL to the group or to the command alone; false when it had already ended. */
  kill(what: 'group' | 'pid'): boolean;
  /** Resolves once no process of the group is left (orphaned git children included). */
  groupGone(timeoutMs?: number): Promise<boolean>;
}

/**
 * For the commands these tests start by the hundred: without tap's process-info and coverage loader
 * (NODE_OPTIONS), which a kill -9 would not let write its report anyway, and which made each short
 * grok-pull run several times slower.
 */
export const BARE_NODE_ENV: NodeJS.ProcessEnv = { NODE_OPTIONS: '' };

export function spawnKillable(bin: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Killable {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...GIT_ENV, ...BARE_NODE_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...(cwd ? { cwd } : {}) });
  let out = '';
  let err = '';
  let done = false;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const ended = new Promise<number | null>((resolve) => child.on('close', (code) => ((done = true), resolve(code))));
  const pid = child.pid!;
  const groupAlive = () => livingMembers(pid) > 0;
  return {
    child,
    pid,
    ended,
    exited: () => done,
    stdout: () => out,
    stderr: () => err,
    kill(what) {
      if (done && what === 'pid') return false;
      try {
        process.kill(what === 'group' ? -pid : pid, 'SIGKILL');
        return !done;
      } catch {
        return false;
      }
    },
    async groupGone(timeoutMs = 60_000) {
      const until = Date.now() + timeoutMs;
      while (groupAlive()) {
        if (Date.now() > until) return false;
        await sleep(25);
      }
      return true;
    },
  };
}

export interface BoundedRun {
  /** Exit code; null when it had to be killed at the limit. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** It did not end by itself within the limit (and was killed, with its git children). */
  readonly overran: boolean;
  readonly ms: number;
}

/**
 * Runs a command that might hang (the faults these tests inject are made to hold it for ever on
 * code without the fix): killed, group and all, once `limitMs` has passed.
 */
export async function runBounded(bin: string, args: readonly string[], limitMs: number, env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<BoundedRun> {
  const started = Date.now();
  const k = spawnKillable(bin, args, env, cwd);
  let timer: NodeJS.Timeout | undefined;
  const overran = await Promise.race([k.ended.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), limitMs)))]);
  clearTimeout(timer);
  if (overran) {
    k.kill('group');
    await k.groupGone();
  }
  const code = await k.ended;
  return { code: overran ? null : code, stdout: k.stdout(), stderr: k.stderr(), overran, ms: Date.now() - started };
}

/**
 * Processes of the group that are still running. Zombies do not count: an orphan that has exited
 * waits for whoever reaps orphans here, which need not be a real init.
 */
function livingMembers(pgid: number): number {
  let n = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ")".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') n++;
  }
  return n;
}
