import { spawn } from 'node:child_process';
import { GIT_ENV } from './git.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one of our built commands as a real process. `asNobody` drops root (for permission tests). */
export function runBin(bin: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; asNobody?: boolean; input?: string } = {}): Promise<CliResult> {
  const argv = opts.asNobody && process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'env', '-u', 'NODE_OPTIONS', process.execPath, bin, ...args] : [process.execPath, bin, ...args];
  return new Promise((resolve, reject) => {
    // tap's coverage hooks (NODE_OPTIONS, re-added by tap on spawn) write under .tap/, which an
    // unprivileged child cannot: `env -u` drops them after tap's hook has run.
    const env = { ...GIT_ENV, ...opts.env };
    const child = spawn(argv[0]!, argv.slice(1), { env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}
