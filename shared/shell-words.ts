/**
 * Splits a command line the way a POSIX shell splits words (no expansion beyond a leading `~`):
 * blanks separate words, '...' is literal, "..." keeps \" \\ \$ \` escapes, a backslash outside
 * quotes escapes the next character. Used for manifest_command and the hook settings, which
 * grokmirror splits with Python's shlex.
 */
import os from 'node:os';
import { GrokError } from './errors.js';

export function shellWords(line: string, home = os.homedir()): string[] {
  const words: string[] = [];
  let cur: string | null = null;
  let i = 0;
  const add = (s: string) => (cur = (cur ?? '') + s);
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      if (cur !== null) words.push(cur);
      cur = null;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new GrokError('GROK_ERR_CONFIG_VALUE', `unterminated ' in ${JSON.stringify(line)}`, { line });
      add(line.slice(i + 1, end));
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      let s = '';
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && '"\\$`'.includes(line[j + 1] ?? '')) s += line[++j];
        else s += line[j];
      }
      if (j >= line.length) throw new GrokError('GROK_ERR_CONFIG_VALUE', `unterminated " in ${JSON.stringify(line)}`, { line });
      add(s);
      i = j + 1;
    } else if (c === '\\') {
      add(line[i + 1] ?? '');
      i += 2;
    } else {
      if (cur === null && c === '~' && (line[i + 1] === '/' || line[i + 1] === undefined || line[i + 1] === ' ')) {
        add(home);
      } else add(c);
      i++;
    }
  }
  if (cur !== null) words.push(cur);
  return words;
}
