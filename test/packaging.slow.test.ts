import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { REPO_ROOT } from './helpers/fixture.js';
import { makeRepo } from './helpers/git.js';
import { tmpDir } from './helpers/tmp.js';

const COMMANDS = ['grok-manifest', 'grok-origin', 'grok-pull', 'grok-fsck', 'grok-dumb-pull', 'grok-bundle', 'grok-pi-piper', 'grok-pi-indexer'];
/** `node_modules/x`, `node_modules/@s/y`, `node_modules/x/node_modules/z`... below `dir`. */
function installedPackages(dir: string, rel = ''): string[] {
  const nm = path.join(dir, rel, 'node_modules');
  if (!existsSync(nm)) return [];
  const out: string[] = [];
  for (const name of readdirSync(nm)) {
    if (name.startsWith('.')) continue;
    const names = name.startsWith('@') ? readdirSync(path.join(nm, name)).map((n) => `${name}/${n}`) : [name];
    for (const n of names) {
      const r = path.posix.join(rel, 'node_modules', n);
      out.push(r, ...installedPackages(dir, r));
    }
  }
  return out;
}

const run = (cmd: string, args: string[], cwd?: string) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

t.test('after npm ci, every command named in package.json "bin" is built, executable and runs', async (t) => {
  // Run directly rather than through npx: npx keeps a link per checkout path in ~/.npm/_npx, which
  // survives a fresh clone at the same path and can point at an older layout.
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  t.same(Object.keys(pkg.bin).sort(), [...COMMANDS].sort());
  for (const [name, file] of Object.entries(pkg.bin)) {
    const full = path.join(REPO_ROOT, file);
    t.ok((statSync(full).mode & 0o111) !== 0, `${file} is executable`);
    t.match(run(full, ['--version'], REPO_ROOT), new RegExp(`^${name} \\(grokmirror-ts\\) \\d`), `${name} runs`);
  }
});

t.test('npm install -g of the packed package installs every command', async (t) => {
  const dir = tmpDir(t, 'grok-pack-');
  // --ignore-scripts: npm test has just built dist/; rebuilding it here (prepare) would pull the
  // commands from under the tests running beside this one.
  const tgz = run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', dir], REPO_ROOT).trim().split('\n').pop()!;
  const prefix = path.join(dir, 'prefix');
  // Offline, with an empty cache: the tarball carries the tested dependency tree (bundleDependencies),
  // so the install needs no registry and gets exactly what the tests ran with; os-lock builds here.
  run('npm', ['install', '-g', '--prefix', prefix, '--cache', path.join(dir, 'empty-cache'), '--offline', '--no-audit', '--no-fund', '--allow-scripts=os-lock', path.join(dir, tgz)]);
  for (const c of COMMANDS) t.match(run(path.join(prefix, 'bin', c), ['--version']), new RegExp(`^${c} \\(grokmirror-ts\\)`), c);
  // Every installed package is the version package-lock.json pinned (light-my-request 6.6, whose
  // cookie 1.x allows Node 20, rather than whatever the registry has newest).
  const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
  const installed = path.join(prefix, 'lib', 'node_modules', 'grokmirror-ts');
  const differ: string[] = [];
  let seen = 0;
  for (const rel of installedPackages(installed)) {
    seen++;
    const version = (JSON.parse(readFileSync(path.join(installed, rel, 'package.json'), 'utf8')) as { version: string }).version;
    if (lock.packages[rel]?.version !== version) differ.push(`${rel} ${version} (lock: ${lock.packages[rel]?.version ?? 'absent'})`);
  }
  t.ok(seen > 20, `${seen} dependencies installed`);
  t.same(differ, [], 'the installed dependency tree is the locked one');
  for (const c of COMMANDS) {
    const page = path.join(prefix, 'share', 'man', 'man1', `${c}.1`);
    t.equal(readFileSync(page, 'utf8'), readFileSync(path.join(REPO_ROOT, 'man', `${c}.1`), 'utf8'), `man ${c} is installed`);
  }
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'r.git'));
  run(path.join(prefix, 'bin', 'grok-manifest'), ['-m', path.join(dir, 'm.js'), '-t', top]);
  t.match(run('cat', [path.join(dir, 'm.js')]), /"\/r\.git"/, 'the installed grok-manifest works (native modules built)');
});
