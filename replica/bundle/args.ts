/**
 * grok-bundle's -g and -r, split on blanks as grokmirror splits them (`str.split()`). Both come from
 * the operator's command line, so they are trusted, but they still reach git as separate argv items
 * through shared/git, never through a shell.
 *
 * grokmirror puts -g before the subcommand (`git -c core.compression=9 bundle create ...`). Our git
 * module takes the subcommand first and global settings as `-c` pairs, and -g is for those in
 * practice (the default is `-c core.compression=9`): `-c key=value` and `-ckey=value` items are
 * accepted, anything else is refused with a usage error rather than passed where git would read it
 * as something else.
 */
import { GrokError } from '../../shared/errors.js';

export const DEFAULT_GITARGS = '-c core.compression=9';
export const DEFAULT_REVLISTARGS = '--branches HEAD';

export function splitBlanks(text: string): string[] {
  return text.split(/\s+/).filter((w) => w !== '');
}

export function parseGitArgs(text: string): Record<string, string> {
  const words = splitBlanks(text);
  const out: Record<string, string> = {};
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    let pair: string | undefined;
    if (w === '-c') pair = words[++i];
    else if (w.startsWith('-c')) pair = w.slice(2);
    const eq = pair?.indexOf('=') ?? -1;
    if (pair === undefined || eq <= 0) {
      throw new GrokError('GROK_ERR_USAGE', `-g ${JSON.stringify(text)}: only "-c key=value" items are supported (found ${JSON.stringify(pair ?? w)})`, { gitargs: text });
    }
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

export function parseRevListArgs(text: string): string[] {
  const words = splitBlanks(text);
  if (words.length === 0) throw new GrokError('GROK_ERR_USAGE', '-r: no rev-list arguments (git would have nothing to bundle)');
  return words;
}
