/**
 * The one way this project runs git. Every call is a `GitCommand` (data), checked against the
 * subcommand allow-list and the untrusted-argument rule, run with a sanitised environment; failures
 * are `GitError`s carrying stderr. Large outputs are read line by line through `lines()`.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { GrokError } from '../errors.js';
import { commandEnv, renderArgs, sanitisedEnv, type GitCommand } from './command.js';
import { GitError } from './git-error.js';

export interface GitResult {
  readonly exitCode: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

export interface GitPipe {
  readonly stdin: NodeJS.WritableStream;
  readonly stdout: NodeJS.ReadableStream;
  readonly done: Promise<{ exitCode: number; stderr: string }>;
  kill(): void;
}

export interface GitOptions {
  /** The git executable (default `git` from PATH, or $GITBIN as grokmirror honours). */
  readonly bin?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly defaultTimeoutMs?: number;
}

const MAX_STDERR = 64 * 1024;

export class Git {
  readonly bin: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly defaultTimeoutMs: number;

  constructor(opts: GitOptions = {}) {
    const base = opts.env ?? process.env;
    this.bin = opts.bin ?? base.GITBIN ?? 'git';
    this.env = sanitisedEnv(base);
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? 30 * 60 * 1000;
  }

  private start(cmd: GitCommand, argv: string[], keepStdinOpen = false) {
    const extra = commandEnv(cmd);
    const child = spawn(this.bin, argv, {
      env: Object.keys(extra).length === 0 ? this.env : { ...this.env, ...extra },
      stdio: [cmd.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(cmd.signal ? { signal: cmd.signal } : {}),
    });
    // Our own timer rather than spawn's `timeout` option: Node leaves that one running when the spawn
    // itself fails, which keeps the process alive for the whole timeout.
    const limit = cmd.timeoutMs ?? this.defaultTimeoutMs;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limit);
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      if (stderr.length < MAX_STDERR) stderr += d;
    });
    if (cmd.input !== undefined) {
      child.stdin!.on('error', () => {}); // git may exit before reading all input; its status tells.
      if (!keepStdinOpen) child.stdin!.end(cmd.input);
    }
    const done = new Promise<number>((resolve, reject) => {
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(new GrokError('GROK_ERR_GIT_SPAWN', `cannot run ${this.bin}: ${err.message}`, { bin: this.bin }, { cause: err }));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve(code ?? (signal ? 128 : -1));
      });
    });
    return { child, done, stderr: () => stderr, timedOutMs: () => (timedOut ? limit : undefined) };
  }

  private check(cmd: GitCommand, argv: string[], exitCode: number, stderr: string, timedOutMs?: number): void {
    if (timedOutMs !== undefined || (exitCode !== 0 && !(cmd.okExit ?? []).includes(exitCode))) {
      throw new GitError(argv.slice(cmd.gitDir === undefined ? 1 : 2), exitCode, stderr, cmd.gitDir, timedOutMs);
    }
  }

  /** Runs a command and buffers its output; meant for small outputs. */
  async run(cmd: GitCommand): Promise<GitResult> {
    const argv = renderArgs(cmd);
    const proc = this.start(cmd, argv);
    const chunks: Buffer[] = [];
    proc.child.stdout!.on('data', (d: Buffer) => chunks.push(d));
    const exitCode = await proc.done;
    this.check(cmd, argv, exitCode, proc.stderr(), proc.timedOutMs());
    return { exitCode, stdout: Buffer.concat(chunks), stderr: proc.stderr() };
  }


  /**
   * Starts a command with stdin and stdout as streams, for piping (git upload-pack behind HTTP).
   * `done` settles with the exit status; `kill()` stops the process.
   */
  pipe(cmd: GitCommand): GitPipe {
    const argv = renderArgs(cmd);
    const proc = this.start({ ...cmd, input: cmd.input ?? '' }, argv, true);
    return {
      stdin: proc.child.stdin!,
      stdout: proc.child.stdout!,
      done: proc.done.then((exitCode) => ({ exitCode, stderr: proc.stderr() })),
      kill: () => void proc.child.kill('SIGKILL'),
    };
  }

  /** Streams stdout line by line (for `for-each-ref` on repos with millions of refs). */
  async *lines(cmd: GitCommand): AsyncGenerator<string, number, undefined> {
    const argv = renderArgs(cmd);
    const proc = this.start(cmd, argv);
    const rl = createInterface({ input: proc.child.stdout!, crlfDelay: Infinity });
    try {
      for await (const line of rl) yield line;
    } finally {
      rl.close();
      if (proc.child.exitCode === null) proc.child.stdout!.resume();
    }
    const exitCode = await proc.done;
    this.check(cmd, argv, exitCode, proc.stderr(), proc.timedOutMs());
    return exitCode;
  }
}
