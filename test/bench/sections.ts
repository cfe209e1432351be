/**
 * BENCHMARKS.md is rewritten whole by `npm run bench`; benchmarks run on their own (`npm run
 * bench:dumb`) keep their part in a marked section that the rewrite carries over.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const markers = (name: string) => [`<!-- section ${name} -->`, `<!-- /section ${name} -->`] as const;
const SECTION_RE = /<!-- section ([\w-]+) -->\n[\s\S]*?<!-- \/section \1 -->\n/g;

/** Every marked section of `file`, in order (empty when there is none or no file). */
export function markedSections(file: string): string {
  if (!existsSync(file)) return '';
  return [...readFileSync(file, 'utf8').matchAll(SECTION_RE)].map((m) => m[0]).join('\n');
}

/** Puts `body` into the section `name` of `file`, replacing the old one or appending. */
export function writeSection(file: string, name: string, body: string): void {
  const [open, close] = markers(name);
  const block = `${open}\n${body.trimEnd()}\n${close}\n`;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const at = text.indexOf(open);
  const end = text.indexOf(close);
  const next = at >= 0 && end > at ? text.slice(0, at) + block + text.slice(end + close.length + 1) : `${text.trimEnd()}\n\n${block}`;
  writeFileSync(file, next);
}
