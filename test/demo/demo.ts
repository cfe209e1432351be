/**
 * The built-in demo (`npm run demo`): makes a small origin with sample repositories (forks sharing
 * objects, a symlink, descriptions and owners), builds its manifest with grok-manifest, pushes a
 * commit and updates the manifest the way a post-receive hook does, then prints a short report.
 * The replica side (grok-origin serving, grok-pull mirroring) joins this demo when those land.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BIN } from '../helpers/fixture.js';
import { git, gitDir, makeRepo, pushCommit } from '../helpers/git.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const base = path.resolve(arg('--dir') ?? path.join(os.tmpdir(), 'grokmirror-ts-demo'));
const top = path.join(base, 'origin');
const manifest = path.join(top, 'manifest.js.gz');

function grokManifest(args: string[]): { ms: number; out: string } {
  const t0 = performance.now();
  const out = execFileSync(process.execPath, [BIN.manifest, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { ms: performance.now() - t0, out };
}

function readManifest(): Record<string, { fingerprint: string; modified: number; description?: string; reference: string | null; symlinks?: string[] }> {
  return JSON.parse(gunzipSync(readFileSync(manifest)).toString('utf8'));
}

rmSync(base, { recursive: true, force: true });
mkdirSync(top, { recursive: true });
console.log(`demo: building a sample origin under ${top}`);
makeRepo(path.join(top, 'pub/linux.git'), { commits: 20, date: 1_690_000_000 });
gitDir(path.join(top, 'pub/linux.git'), ['config', 'gitweb.owner', 'Demo Maintainer']);
writeFileSync(path.join(top, 'pub/linux.git/description'), 'A pretend kernel tree\n');
for (const user of ['alice', 'bob', 'carol']) {
  const fork = path.join(top, `users/${user}/linux.git`);
  git(['clone', '-q', '--bare', '--shared', path.join(top, 'pub/linux.git'), fork]);
  pushCommit(fork, { branch: `${user}-work`, date: 1_695_000_000, message: `${user}'s change` });
}
makeRepo(path.join(top, 'pub/tools.git'), { commits: 5, date: 1_680_000_000 });
makeRepo(path.join(top, 'pub/docs.git'), { commits: 3, date: 1_685_000_000 });
symlinkSync('linux.git', path.join(top, 'pub/linux-stable.git'));

const full = grokManifest(['-m', manifest, '-t', top]);
const m1 = readManifest();
console.log(`demo: full walk listed ${Object.keys(m1).length} repositories in ${full.ms.toFixed(0)} ms`);

const repo = path.join(top, 'pub/tools.git');
const sha = pushCommit(repo, { date: Math.floor(Date.now() / 1000), message: 'a new commit' });
const hook = grokManifest(['-n', '-m', manifest, '-t', top, repo]);
const m2 = readManifest();

console.log('\n=== grokmirror-ts demo report ===');
console.log(`origin toplevel:    ${top}`);
console.log(`manifest:           ${manifest}`);
console.log(`repositories:       ${Object.keys(m2).length} (${Object.keys(m2).filter((k) => m2[k]!.reference).length} forks borrowing objects)`);
for (const [key, e] of Object.entries(m2).sort()) {
  const extra = [e.reference ? `borrows from ${e.reference}` : '', e.symlinks ? `symlinks ${e.symlinks.join(', ')}` : '', e.description ?? '']
    .filter(Boolean)
    .join('; ');
  console.log(`  ${key.padEnd(28)} ${e.fingerprint.slice(0, 12)}  ${extra}`);
}
console.log(`pushed:             ${sha.slice(0, 12)} to /pub/tools.git`);
console.log(`hook update:        fingerprint ${m1['/pub/tools.git']!.fingerprint.slice(0, 12)} -> ${m2['/pub/tools.git']!.fingerprint.slice(0, 12)} in ${hook.ms.toFixed(0)} ms`);
console.log('replica:            grok-origin and grok-pull are not implemented yet (issues 3 and 4)');
