/**
 * `[remote] manifest_command`: split like a shell, `--force` appended when forcing. Exit 0: stdout is
 * the manifest JSON; 127: unchanged; 1: an error whose message is on stdout; any other status: a
 * warning, treated as unchanged (grokmirror's contract, see its contrib/gitolite scripts). What is not
 * an exit status is an error, never "unchanged": output past the manifest size cap, a command killed
 * by a signal or by its time limit. Whatever of its output is quoted is cut short and made safe to
 * print (safe-text.ts): it is one line in a log.
 */
import { execFile } from 'node:child_process';
import { GrokError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import { safeText } from '../../shared/safe-text.js';
import { shellWords } from '../../shared/shell-words.js';
import type { SourceRequest, SourceResult } from './types.js';

const TIMEOUT_MS = 15 * 60 * 1000;
/** How much of the command's output a message quotes. */
const QUOTED_CHARS = 300;

type ExecError = Error & { code?: number | string | null; signal?: NodeJS.Signals | null; killed?: boolean };

/** The first line the command printed (stdout, else stderr), cut short and escaped. */
export function quoteOutput(stdout: Buffer, stderr: Buffer): string {
  const text = stdout.toString('utf8').trim() || stderr.toString('utf8').trim();
  return safeText(text.split('\n')[0] ?? '', QUOTED_CHARS);
}

export function fetchCommandManifest(command: string, req: SourceRequest, log: Logger, timeoutMs = TIMEOUT_MS): Promise<SourceResult> {
  const argv = shellWords(command);
  if (argv.length === 0) throw new GrokError('GROK_ERR_CONFIG_VALUE', '[remote] manifest_command is empty');
  if (req.force) argv.push('--force');
  const name = argv[0]!;
  return new Promise((resolve, reject) => {
    execFile(name, argv.slice(1), { encoding: 'buffer', maxBuffer: req.maxBytes, timeout: timeoutMs, killSignal: 'SIGKILL' }, (e, stdout, stderr) => {
      const err = e as ExecError | null;
      const fail = (code: 'GROK_ERR_MANIFEST_FETCH' | 'GROK_ERR_MANIFEST_TOO_LARGE', why: string) => reject(new GrokError(code, `manifest_command ${why}`, { command: name }));
      if (err?.code === 'ENOENT') return fail('GROK_ERR_MANIFEST_FETCH', `${name} not found`);
      if (err?.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
        return fail('GROK_ERR_MANIFEST_TOO_LARGE', `printed more than ${req.maxBytes} bytes (the manifest size cap, [core] manifest_max_size); stopped`);
      }
      if (err && err.killed && err.signal) return fail('GROK_ERR_MANIFEST_FETCH', `did not finish within ${timeoutMs / 1000} s; killed`);
      if (err && typeof err.code !== 'number') {
        const how = err.signal ? `was killed by ${err.signal}` : `failed to run (${safeText(err.message, QUOTED_CHARS)})`;
        return fail('GROK_ERR_MANIFEST_FETCH', how);
      }
      const code = err ? (err.code as number) : 0;
      if (code === 0) return resolve({ status: 'fetched', json: stdout, validators: {}, downloaded: stdout.length });
      if (code === 127) return resolve({ status: 'unchanged' });
      const msg = quoteOutput(stdout, stderr);
      if (code === 1) return fail('GROK_ERR_MANIFEST_FETCH', `failed: ${msg}`);
      log.warn(`manifest_command exited ${code}: ${msg}; treating the manifest as unchanged`);
      resolve({ status: 'unchanged' });
    });
  });
}
