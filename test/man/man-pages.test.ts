/**
 * The manual pages in man/ are what `npm run man` makes now from the commands' definitions (so they
 * cannot drift from --help), every flag --help lists is in them, groff reads them without a warning,
 * and package.json installs them.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { packageVersion } from '../../shared/version.js';
import { runBin } from '../helpers/cli.js';
import { BIN, REPO_ROOT } from '../helpers/fixture.js';
import { PAGES } from './pages.js';
import { renderManPage } from './render.js';

const BIN_OF: Record<string, string> = {
  'grok-manifest': BIN.manifest,
  'grok-origin': BIN.origin,
  'grok-pull': BIN.pull,
  'grok-fsck': BIN.fsck,
  'grok-dumb-pull': BIN.dumbPull,
  'grok-bundle': BIN.bundle,
  'grok-pi-piper': BIN['pi-piper'],
  'grok-pi-indexer': BIN['pi-indexer'],
};
const groff = spawnSync('groff', ['--version'], { encoding: 'utf8' }).status === 0;

for (const p of PAGES) {
  const cmd = p.command();
  const name = cmd.name();
  t.test(`${name}(1)`, async (t) => {
    const file = path.join(REPO_ROOT, 'man', `${name}.1`);
    const page = readFileSync(file, 'utf8');
    t.equal(page, renderManPage(cmd, p.manual, packageVersion(), p.source), `man/${name}.1 is what "npm run man" writes now`);
    const help = await runBin(BIN_OF[name]!, ['--help']);
    t.equal(help.code, 0);
    const flags = [...new Set(help.stdout.match(/(?<![\w-])--?[A-Za-z][\w-]*/g) ?? [])];
    t.ok(flags.length >= 4, 'flags found in --help');
    for (const f of flags) t.ok(page.includes(f.replace(/-/g, '\\-')), `${f} (from --help) is in the page`);
    if (groff) {
      const lint = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', file], { encoding: 'utf8' });
      t.equal(lint.stderr, '', 'groff reads it without a warning');
    }
  });
}

t.test('package.json installs every page', async (t) => {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { man: string[]; files: string[]; bin: Record<string, string> };
  t.same([...pkg.man].sort(), Object.keys(pkg.bin).map((b) => `./man/${b}.1`).sort(), 'one page per command in "man"');
  t.ok(pkg.files.includes('man'), 'and shipped in the package');
});
