/**
 * `[remote] manifest_command`: split like a shell, `--force` appended when forcing. Exit 0: stdout is
 * the manifest JSON; 127: unchanged; 1: an error whose message is on stdout; anything else: a warning,
 * treated as unchanged (grokmirror's contract, see its contrib/gitolite scripts).
 */
import { execFile } from 'node:child_process';
import { GrokError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import { shellWords } from '../../shared/shell-words.js';
import type { SourceRequest, SourceResult } from './types.js';

export function fetchCommandManifest(command: string, req: SourceRequest, log: Logger): Promise<SourceResult> {
  const argv = shellWords(command);
  if (argv.length === 0) throw new GrokError('GROK_ERR_CONFIG_VALUE', '[remote] manifest_command is empty');
  if (req.force) argv.push('--force');
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { encoding: 'buffer', maxBuffer: req.maxBytes, timeout: 15 * 60 * 1000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : (err as { status?: number }).status ?? -1) : 0;
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
        return reject(new GrokError('GROK_ERR_MANIFEST_FETCH', `manifest_command ${argv[0]} not found`, { command }));
      }
      if (code === 0) return resolve({ status: 'fetched', json: stdout, validators: {} });
      if (code === 127) return resolve({ status: 'unchanged' });
      const msg = (stdout.toString('utf8').trim() || stderr.toString('utf8').trim()).split('\n')[0] ?? '';
      if (code === 1) return reject(new GrokError('GROK_ERR_MANIFEST_FETCH', `manifest_command failed: ${msg}`, { command }));
      log.warn(`manifest_command exited ${code}: ${msg}; treating the manifest as unchanged`);
      resolve({ status: 'unchanged' });
    });
  });
}
