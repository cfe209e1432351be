import { GrokError } from '../errors.js';

/** A git command that exited with a status the caller did not accept; carries stderr. */
export class GitError extends GrokError {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly gitDir?: string,
  ) {
    const where = gitDir ? ` in ${gitDir}` : '';
    const first = stderr.trim().split('\n').slice(-3).join(' / ');
    super('GROK_ERR_GIT_FAILED', `git ${args.join(' ')}${where} failed (exit ${exitCode}): ${first || 'no output'}`, {
      args,
      exitCode,
      stderr,
      gitDir,
    });
    this.name = 'GitError';
  }
}
