/**
 * `npm run completion`: writes contrib/completion/grok.bash from every command's commander
 * definition (test/completion/render.ts). test/completion/completion.test.ts checks that the
 * shipped file is what this writes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/fixture.js';
import { PAGES } from '../man/pages.js';
import { renderCompletion } from './render.js';

export const COMPLETION_FILE = path.join(REPO_ROOT, 'contrib/completion/grok.bash');

export function generatedCompletion(): string {
  return renderCompletion(PAGES.map((p) => p.command()));
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(REPO_ROOT, 'dist/test/completion/generate.js')) {
  const text = generatedCompletion();
  mkdirSync(path.dirname(COMPLETION_FILE), { recursive: true });
  let old = '';
  try {
    old = readFileSync(COMPLETION_FILE, 'utf8');
  } catch {
    // not written yet
  }
  if (old !== text) writeFileSync(COMPLETION_FILE, text);
  process.stdout.write(`${path.relative(REPO_ROOT, COMPLETION_FILE)}${old === text ? '' : ' (written)'}\n`);
}
