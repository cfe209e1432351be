import { GrokError } from '../errors.js';

/** An argument as the message shows it: quoted and escaped when it holds a control character (an owner may). */
function shown(arg: string): string {
  return /[\u0000-\u001f\u007f-\u009f]/.test(arg) ? JSON.stringify(arg) : arg;
}

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
    super('GROK_ERR_GIT_FAILED', `git ${args.map(shown).join(' ')}${where} failed (exit ${exitCode}): ${first || 'no output'}`, {
      args,
      exitCode,
      stderr,
      gitDir,
    });
    this.name = 'GitError';
  }
}
