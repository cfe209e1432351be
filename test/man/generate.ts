/**
 * `npm run man`: writes man/<command>.1 for every command from its commander definition and
 * hand-written sections (test/man/pages.ts). test/man/man-pages.test.ts checks that the committed
 * pages are what this writes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packageVersion } from '../../shared/version.js';
import { REPO_ROOT } from '../helpers/fixture.js';
import { PAGES } from './pages.js';
import { renderManPage } from './render.js';

const dir = path.join(REPO_ROOT, 'man');
mkdirSync(dir, { recursive: true });
for (const p of PAGES) {
  const cmd = p.command();
  const file = path.join(dir, `${cmd.name()}.1`);
  const page = renderManPage(cmd, p.manual, packageVersion(), p.source);
  let old = '';
  try {
    old = readFileSync(file, 'utf8');
  } catch {
    // a new page
  }
  if (old !== page) writeFileSync(file, page);
  process.stdout.write(`${path.relative(REPO_ROOT, file)}${old === page ? '' : ' (written)'}\n`);
}
