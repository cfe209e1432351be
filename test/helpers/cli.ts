import { spawn } from 'node:child_process';
import { GIT_ENV } from './git.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A process to its end: exit code and output (stdin gets `input`, or nothing). */
export function runProcess(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? GIT_ENV, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * Runs one of our built commands as a real process. `readOnly` makes those directories read-only for
 * the child: as root (who ignores file modes) through a read-only bind mount in a private mount
 * namespace, otherwise by the caller's chmod.
 */
export function runBin(bin: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; readOnly?: string; input?: string } = {}): Promise<CliResult> {
  const asRoot = process.getuid?.() === 0;
  const argv =
    opts.readOnly && asRoot
      ? ['unshare', '-m', 'sh', '-c', 'mount --bind -o ro "$0" "$0" && exec "$@"', opts.readOnly, process.execPath, bin, ...args]
      : [process.execPath, bin, ...args];
  return runProcess(argv[0]!, argv.slice(1), { env: { ...GIT_ENV, ...opts.env }, ...(opts.cwd ? { cwd: opts.cwd } : {}), ...(opts.input !== undefined ? { input: opts.input } : {}) });
}

/**
 * Any command as a child process, asynchronously (a server it talks to may run in this process),
 * killed after `timeoutMs`: for commands that must end but, on broken code, would hang.
 */
export function runFor(argv: readonly string[], timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: { ...GIT_ENV, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => (clearTimeout(timer), resolve({ code, stderr })));
  });
}
