/**
 * The [pull] hooks: one command per configured line, split like a shell (`~` expanded), run with a
 * timeout; stdout is logged at info, stderr at warning. A failing hook is logged, never fatal.
 */
import { spawn } from 'node:child_process';
import { describeError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import { shellWords } from '../../shared/shell-words.js';

export async function runHooks(kind: string, commands: readonly string[], opts: { args?: string[]; stdin?: string; timeoutMs?: number }, log: Logger): Promise<void> {
  for (const line of commands) {
    let argv: string[];
    try {
      argv = [...shellWords(line), ...(opts.args ?? [])];
    } catch (err) {
      log.error(`${kind}: ${describeError(err)}`);
      continue;
    }
    if (argv.length === 0) continue;
    await new Promise<void>((resolve) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 10 * 60 * 1000);
      child.on('error', (e) => log.error(`${kind} ${argv[0]}: ${e.message}`));
      child.on('close', (code) => {
        clearTimeout(timer);
        if (out.trim()) log.info({ hook: kind }, `${kind} ${argv[0]}: ${out.trim()}`);
        if (err.trim()) log.warn({ hook: kind }, `${kind} ${argv[0]}: ${err.trim()}`);
        if (code !== 0) log.warn({ hook: kind }, `${kind} ${argv[0]} exited ${code}`);
        resolve();
      });
      child.stdin.on('error', () => {});
      child.stdin.end(opts.stdin ?? '');
    });
  }
}
