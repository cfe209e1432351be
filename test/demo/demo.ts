/**
 * The built-in demo (`npm run demo`): makes a small origin with sample repositories (an upstream and
 * forks that each hold a full copy, a symlink, descriptions and owners), builds its manifest with
 * grok-manifest, runs grok-fsck (the forks move into one objstore: disk use before/after), serves it
 * with grok-origin on 127.0.0.1, clones over HTTP, mirrors the origin into a replica with
 * `grok-pull -o` (which follows the origin's change feed), pushes a commit that the post-receive hook
 * hands to the server, shows the push arriving on the replica, and prints a short report.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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

function readManifest(): Record<string, { fingerprint: string; modified: number; description?: string; reference: string | null; forkgroup?: string; symlinks?: string[] }> {
  return JSON.parse(gunzipSync(readFileSync(manifest)).toString('utf8'));
}

rmSync(base, { recursive: true, force: true });
mkdirSync(top, { recursive: true });
console.log(`demo: building a sample origin under ${top}`);
makeRepo(path.join(top, 'pub/linux.git'), { commits: 40, date: 1_690_000_000 });
gitDir(path.join(top, 'pub/linux.git'), ['config', 'gitweb.owner', 'Demo Maintainer']);
writeFileSync(path.join(top, 'pub/linux.git/description'), 'A pretend kernel tree\n');
for (const user of ['alice', 'bob', 'carol']) {
  const fork = path.join(top, `users/${user}/linux.git`);
  git(['clone', '-q', '--bare', '--no-local', path.join(top, 'pub/linux.git'), fork]);
  pushCommit(fork, { branch: `${user}-work`, date: 1_695_000_000, message: `${user}'s change` });
}
makeRepo(path.join(top, 'pub/tools.git'), { commits: 5, date: 1_680_000_000 });
makeRepo(path.join(top, 'pub/docs.git'), { commits: 3, date: 1_685_000_000 });
symlinkSync('linux.git', path.join(top, 'pub/linux-stable.git'));

const full = grokManifest(['-m', manifest, '-t', top]);
console.log(`demo: full walk listed ${Object.keys(readManifest()).length} repositories in ${full.ms.toFixed(0)} ms`);

const conf = path.join(base, 'grokmirror.conf');
writeFileSync(conf, `[core]\ntoplevel = ${top}\nmanifest = ${manifest}\n[fsck]\nstatusfile = ${base}/fsck.status.js\n[origin]\nlisten = 127.0.0.1:0\n`);
// Every fork holds a full copy of the upstream's objects until grok-fsck groups them.
const diskBefore = objectsKb(top);
const t0 = performance.now();
execFileSync(process.execPath, [BIN.fsck, '-c', conf, '-f'], { stdio: ['ignore', 'ignore', 'inherit'] });
const fsckMs = performance.now() - t0;
const diskAfter = objectsKb(top);
console.log(`demo: grok-fsck moved the forks into one objstore in ${fsckMs.toFixed(0)} ms`);
const m1 = readManifest();
const server = spawn(process.execPath, [BIN.origin, '-c', conf], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise<string>((resolve, reject) => {
  server.stdout.setEncoding('utf8').on('data', (d: string) => {
    const m = /listening on (\S+)/.exec(d);
    if (m) resolve(m[1]!);
  });
  server.on('exit', (code) => reject(new Error(`grok-origin exited with ${code}`)));
});
console.log(`demo: grok-origin serving on ${url}`);
try {
  const first = await fetch(`${url}/manifest.js.gz`);
  const etag = first.headers.get('etag') ?? '';
  await first.arrayBuffer();
  const again = await fetch(`${url}/manifest.js.gz`, { headers: { 'if-none-match': etag } });
  const clone = path.join(base, 'clone-of-linux.git');
  execFileSync('git', ['clone', '-q', '--bare', `${url}/pub/linux.git`, clone]);
  const cloned = execFileSync('git', [`--git-dir=${clone}`, 'rev-list', '--count', 'HEAD'], { encoding: 'utf8' }).trim();

  // a replica: grok-pull as a daemon, following the origin's change feed (polls are an hour apart)
  const mirror = path.join(base, 'replica');
  const rconf = path.join(base, 'replica.conf');
  writeFileSync(rconf, `[core]\ntoplevel = ${mirror}\nmanifest = \${toplevel}/manifest.js.gz\n[remote]\nsite = ${url}\nmanifest = \${site}/manifest.js.gz\n[pull]\nrefresh = 3600\n`);
  const replica = spawn(process.execPath, [BIN.pull, '-c', rconf, '-o'], { stdio: 'ignore' });
  const replicaTools = path.join(mirror, 'pub/tools.git');
  const mirrored = await waitFor(() => existsSync(path.join(mirror, 'manifest.js.gz')) && headOf(replicaTools) !== '', 60_000);
  console.log(`demo: replica mirrored the origin in ${mirrored} ms`);
  try {
    const repo = path.join(top, 'pub/tools.git');
    const sha = pushCommit(repo, { date: Math.floor(Date.now() / 1000), message: 'a new commit' });
    const pushedAt = performance.now();
    // what the post-receive hook runs; with grok-origin up, it hands the path over
    const hook = grokManifest(['-n', '-m', manifest, '-t', top, repo]);
    const arrived = (await waitFor(() => headOf(replicaTools) === sha, 30_000), performance.now() - pushedAt);
    const after = await fetch(`${url}/manifest.js.gz`, { headers: { 'if-none-match': etag } });
    const m2 = JSON.parse(gunzipSync(Buffer.from(await after.arrayBuffer())).toString('utf8')) as ReturnType<typeof readManifest>;
    const replicaRepos = Object.keys(JSON.parse(gunzipSync(readFileSync(path.join(mirror, 'manifest.js.gz'))).toString('utf8')) as object).length;
    report(m2, { sha, hookMs: hook.ms, url, notModified: again.status, afterPush: after.status, cloned, mirror, replicaRepos, arrivedMs: arrived });
  } finally {
    replica.kill('SIGTERM');
    await new Promise((r) => replica.on('exit', r));
  }
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.on('exit', r));
}

/** Object storage (every objects/ directory) under `dir` in KiB; du counts hardlinked files once. */
function objectsKb(dir: string): number {
  const dirs = execFileSync('find', [dir, '-type', 'd', '-name', 'objects', '-prune'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const out = execFileSync('du', ['-c', '-k', '--apparent-size', ...dirs], { encoding: 'utf8' }).trim().split('\n').pop()!;
  return Number(out.split('\t')[0]);
}

function headOf(repo: string): string {
  try {
    return execFileSync('git', [`--git-dir=${repo}`, 'rev-parse', '-q', '--verify', 'refs/heads/master'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** Polls until `ok()`; resolves with the milliseconds it took. */
async function waitFor(ok: () => boolean, timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (!ok()) {
    if (performance.now() - start > timeoutMs) throw new Error(`demo: gave up after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Math.round(performance.now() - start);
}

function report(
  m2: ReturnType<typeof readManifest>,
  r: { sha: string; hookMs: number; url: string; notModified: number; afterPush: number; cloned: string; mirror: string; replicaRepos: number; arrivedMs: number },
): void {

  console.log('\n=== grokmirror-ts demo report ===');
  console.log(`origin toplevel:    ${top}`);
  console.log(`served at:          ${r.url} (manifest ${r.url}/manifest.js.gz)`);
  console.log(`repositories:       ${Object.keys(m2).length} (${Object.keys(m2).filter((k) => m2[k]!.forkgroup).length} in one objstore, forkgroup ${Object.values(m2).find((e) => e.forkgroup)?.forkgroup ?? '-'})`);
  console.log(`disk (origin):      ${diskBefore} KiB before grok-fsck, ${diskAfter} KiB after (${fsckMs.toFixed(0)} ms; forks share one objstore)`);
  for (const [key, e] of Object.entries(m2).sort()) {
    const extra = [e.reference ? `borrows from ${e.reference}` : '', e.symlinks ? `symlinks ${e.symlinks.join(', ')}` : '', e.description ?? '']
      .filter(Boolean)
      .join('; ');
    console.log(`  ${key.padEnd(28)} ${e.fingerprint.slice(0, 12)}  ${extra}`);
  }
  console.log(`conditional GET:    ${r.notModified} before the push, ${r.afterPush} after it`);
  console.log(`clone over HTTP:    /pub/linux.git, ${r.cloned} commits`);
  console.log(`pushed:             ${r.sha.slice(0, 12)} to /pub/tools.git`);
  console.log(`hook update:        fingerprint ${m1['/pub/tools.git']!.fingerprint.slice(0, 12)} -> ${m2['/pub/tools.git']!.fingerprint.slice(0, 12)}, hook took ${r.hookMs.toFixed(0)} ms (handed to grok-origin)`);
  console.log(`replica:            ${r.replicaRepos} repositories in ${r.mirror} (grok-pull -o)`);
  console.log(`push to replica:    ${r.arrivedMs.toFixed(0)} ms from the push to the new commit on the replica (change feed)`);
}
