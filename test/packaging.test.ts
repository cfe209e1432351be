import { execFileSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { REPO_ROOT } from './helpers/fixture.js';
import { makeRepo } from './helpers/git.js';
import { tmpDir } from './helpers/tmp.js';

const COMMANDS = ['grok-manifest', 'grok-origin', 'grok-pull', 'grok-fsck'];
const run = (cmd: string, args: string[], cwd?: string) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

t.test('npx runs the commands in the repo after npm ci', async (t) => {
  t.match(run('npx', ['--no-install', 'grok-manifest', '--version'], REPO_ROOT), /^grok-manifest \(grokmirror-ts\) \d/);
});

t.test('npm install -g of the packed package installs all four commands', async (t) => {
  const dir = tmpDir(t, 'grok-pack-');
  const tgz = run('npm', ['pack', '--silent', '--pack-destination', dir], REPO_ROOT).trim().split('\n').pop()!;
  const prefix = path.join(dir, 'prefix');
  // Offline: everything comes from the cache `npm ci` just filled; the native modules build here.
  run('npm', ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', '--allow-scripts=os-lock,zlib-sync', path.join(dir, tgz)]);
  for (const c of COMMANDS) t.match(run(path.join(prefix, 'bin', c), ['--version']), new RegExp(`^${c} \\(grokmirror-ts\\)`), c);
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'r.git'));
  run(path.join(prefix, 'bin', 'grok-manifest'), ['-m', path.join(dir, 'm.js'), '-t', top]);
  t.match(run('cat', [path.join(dir, 'm.js')]), /"\/r\.git"/, 'the installed grok-manifest works (native modules built)');
});
