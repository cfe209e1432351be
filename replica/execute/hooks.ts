/**
 * The [pull] hooks: one command per configured line, split like a shell (`~` expanded), run with a
 * timeout; stdout is logged at info, stderr at warning. A failing hook is logged, never fatal.
 *
 * A hook runs in a process group of its own (a new session), so that its timeout ends the hook and
 * everything it started: killing the direct child alone left its children running. Once the hook
 * itself has exited, its output pipes are waited on for a short grace only: a process it left in the
 * background (`sh -c "sleep 1000 &"`) keeps them open and would otherwise hold the pass, or the
 * daemon's loop, for as long as it lives. What is kept of its output is bounded.
 */
import { spawn } from 'node:child_process';
import { describeError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import { shellWords } from '../../shared/shell-words.js';

export interface HookOptions {
  readonly args?: string[];
  readonly stdin?: string;
  /** How long a hook may run; then its whole process group is killed (default 10 minutes). */
  readonly timeoutMs?: number;
  /** How long output is still read after the hook exited, and SIGTERM waits before SIGKILL (default 0.5 s). */
  readonly graceMs?: number;
}

/** Characters of each of stdout and stderr kept for the log. */
export const HOOK_OUTPUT_MAX = 64 * 1024;

class Bounded {
  private text = '';
  private dropped = 0;

  add(chunk: string): void {
    const room = HOOK_OUTPUT_MAX - this.text.length;
    if (room > 0) this.text += chunk.slice(0, room);
    this.dropped += Math.max(0, chunk.length - Math.max(0, room));
  }

  toString(): string {
    const t = this.text.trim();
    return this.dropped > 0 ? `${t} ... (${this.dropped} more characters not kept)` : t;
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function runOne(kind: string, argv: string[], opts: HookOptions, log: Logger): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 10 * 60 * 1000;
  const graceMs = opts.graceMs ?? 500;
  const l = log.child({ hook: kind });
  return new Promise<void>((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const out = new Bounded();
    const err = new Bounded();
    child.stdout.setEncoding('utf8').on('data', (d: string) => out.add(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => err.add(d));
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let timedOut = false;
    let done = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (leftBehind: boolean) => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      child.stdout.destroy();
      child.stderr.destroy();
      if (`${out}`) l.info(`${kind} ${argv[0]}: ${out}`);
      if (`${err}`) l.warn(`${kind} ${argv[0]}: ${err}`);
      if (timedOut) l.warn(`${kind} ${argv[0]} ran longer than ${Math.round(timeoutMs / 1000)} s; killed with everything it started`);
      else if (exit && exit.code !== 0) l.warn(`${kind} ${argv[0]} exited ${exit.code ?? exit.signal}`);
      if (leftBehind && !timedOut) l.warn(`${kind} ${argv[0]} left processes behind that hold its output; not waited for`);
      resolve();
    };
    timers.push(
      setTimeout(() => {
        timedOut = true;
        killGroup(child.pid, 'SIGTERM');
        timers.push(setTimeout(() => killGroup(child.pid, 'SIGKILL'), graceMs));
        // Whatever holds the pipes now, the pass goes on once the kill had its time.
        timers.push(setTimeout(() => finish(true), 2 * graceMs + 1000));
      }, timeoutMs),
    );
    child.on('error', (e) => {
      l.error(`${kind} ${argv[0]}: ${e.message}`);
      finish(false);
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      timers.push(setTimeout(() => finish(true), graceMs));
    });
    child.on('close', () => finish(false));
    child.stdin.on('error', () => {});
    child.stdin.end(opts.stdin ?? '');
  });
}

export async function runHooks(kind: string, commands: readonly string[], opts: HookOptions, log: Logger): Promise<void> {
  for (const line of commands) {
    let argv: string[];
    try {
      argv = [...shellWords(line), ...(opts.args ?? [])];
    } catch (err) {
      log.error(`${kind}: ${describeError(err)}`);
      continue;
    }
    if (argv.length > 0) await runOne(kind, argv, opts, log);
  }
}
