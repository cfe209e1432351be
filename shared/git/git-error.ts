import { GrokError } from '../errors.js';
import { redactUrls, safeText } from '../safe-text.js';

/** On the shown command line, an argument holding a space or a control character is one quoted word. */
function quoteArg(arg: string): string {
  return /[\s\p{C}"]/u.test(arg) ? `"${arg.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"` : arg;
}

/**
 * A git command that exited with a status the caller did not accept; carries stderr. The message
 * starts with what git said (its last lines), then the command: the command line is long and the
 * reader wants the reason. Arguments and stderr are stored with URL credentials redacted (a remote
 * URL from `[remote] site` or a URL list is an argument, and git quotes URLs in its messages), and
 * the message has control characters escaped: stderr relays what a remote server chose to say.
 */
export class GitError extends GrokError {
  readonly args: readonly string[];
  readonly stderr: string;

  constructor(
    args: readonly string[],
    readonly exitCode: number | null,
    stderr: string,
    readonly gitDir?: string,
    /** Set when the command was killed at its time limit, in ms. */
    readonly timedOutMs?: number,
  ) {
    const shownArgs = args.map(redactUrls);
    const shownStderr = redactUrls(stderr);
    const where = gitDir ? ` in ${gitDir}` : '';
    const said = shownStderr.trim().split('\n').slice(-3).join(' / ');
    const why = timedOutMs !== undefined ? `killed after ${Math.round(timedOutMs / 1000)} s, the time limit for this git command${said ? `; it said: ${said}` : ''}` : said || 'no output';
    super('GROK_ERR_GIT_FAILED', safeText(`${why} (git ${shownArgs.map(quoteArg).join(' ')}${where}, exit ${exitCode})`), {
      args: shownArgs,
      exitCode,
      stderr: shownStderr,
      gitDir,
    });
    this.args = shownArgs;
    this.stderr = shownStderr;
    this.name = 'GitError';
  }
}

// GitError's message: what git said, then " (git ARGS[ in DIR], exit N)" at the very end (a caller may
// have put words of its own before git's; nothing comes after).
const COMMAND_TAIL_RE = /^([\s\S]*?) \((git [\s\S]*, exit (?:-?\d+|null))\)$/;

/**
 * A message (or text ending in one) that GitError made, split into git's words and the command that
 * said them, for a reader that shows the reason first and the long command line apart (the status
 * page); other text comes back whole, with no command.
 */
export function splitGitMessage(text: string): { said: string; command: string | null } {
  const m = COMMAND_TAIL_RE.exec(text);
  return m && m[1] ? { said: m[1], command: m[2]! } : { said: text, command: null };
}
