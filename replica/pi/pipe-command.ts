/**
 * The `pipe` command of pi-piper.conf: split like a shell (grokmirror uses shlex), its program found
 * before anything is piped, then run once per message with the message on stdin.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { GrokError } from '../../shared/errors.js';
import { shellWords } from '../../shared/shell-words.js';

/** A message taking longer than this is a stuck command: it is stopped and the run fails. */
const PIPE_TIMEOUT_MS = 10 * 60 * 1000;
const MAX_STDERR = 16 * 1024;

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The command's words with its program resolved (a bare name through PATH); a one-line error when it cannot run. */
export function resolvePipe(line: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const words = shellWords(line);
  const prog = words[0];
  if (prog === undefined) throw new GrokError('GROK_ERR_CONFIG_VALUE', 'pipe is empty (set "pipe = None" to skip a list)');
  if (prog.includes('/')) {
    if (!executable(prog)) throw new GrokError('GROK_ERR_PIPE', `cannot execute ${prog} (pipe = ${line})`, { pipe: line });
    return words;
  }
  for (const dir of (env.PATH ?? '').split(':')) {
    const full = path.join(dir || '.', prog);
    if (executable(full)) return [full, ...words.slice(1)];
  }
  throw new GrokError('GROK_ERR_PIPE', `cannot execute ${prog}: not found in PATH (pipe = ${line})`, { pipe: line });
}

export interface PipeOutcome {
  readonly ok: boolean;
  /** Exit status, or the signal that ended it. */
  readonly status: string;
  readonly stderr: string;
}

/** Runs the command with `message` on its stdin; a non-zero exit, a signal or the timeout is a failure. */
export function pipeMessage(argv: readonly string[], message: Buffer): Promise<PipeOutcome> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < MAX_STDERR) stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), PIPE_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, status: err.message, stderr });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, status: signal ? `killed by ${signal}` : `exit ${code}`, stderr: stderr.trim() });
    });
    // A command that exits without reading all of its input still reports through its status.
    child.stdin.on('error', () => {});
    child.stdin.end(message);
  });
}
