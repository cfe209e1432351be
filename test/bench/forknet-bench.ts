/**
 * `npm run bench:forks` (under a minute on 2 cores after the build): the fork network of issue 18, an upstream
 * and 12 forks whose own commits arrived by push (so loose, as an origin holds them), after one
 * `grok-fsck -f`: objects/ of every repository and objstore (hardlinked files once) against the
 * floor (one repository holding every object, `git repack -a -d -f`), and the members'
 * `prune-packable`. The same network, copied, goes through grokmirror's fsck in the same run when
 * python3 and the peer are here. Writes the `fork-network` section of BENCHMARKS.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BIN, REPO_ROOT } from '../helpers/fixture.js';
import { GIT_ENV } from '../helpers/git.js';
import { floorBytes, makePushedForkNetwork } from '../helpers/fork-network.js';
import { PEER_DIR, peerMissing } from '../interop/peer.js';
import { timeProcess } from './measure.js';
import { writeSection } from './sections.js';
import { claimWorkDir } from './work-dir.js';

const FORKS = 12;
const COMMITS = 100;

interface Figures {
  readonly objectsKb: number;
  readonly prunePackable: readonly number[];
  readonly loose: readonly number[];
  readonly stores: number;
}

function reposUnder(top: string): string[] {
  return [path.join(top, 'upstream.git'), ...readdirSync(path.join(top, 'forks')).filter((n) => n.endsWith('.git') && !n.startsWith('.')).sort().map((n) => path.join(top, 'forks', n))];
}

function figures(top: string): Figures {
  const repos = reposUnder(top);
  const storeDir = path.join(top, 'objstore');
  const stores = (existsSync(storeDir) ? readdirSync(storeDir) : []).filter((n) => n.endsWith('.git') && !n.startsWith('.')).map((n) => path.join(storeDir, n));
  // One du over everything: hardlinked files count once, as on the disk.
  const out = execFileSync('du', ['-sc', '--apparent-size', '-B1', ...[...repos, ...stores].map((r) => path.join(r, 'objects'))], { encoding: 'utf8' }).trim().split('\n').pop()!;
  const counts = repos.map((r) => Object.fromEntries(execFileSync('git', [`--git-dir=${r}`, 'count-objects', '-v'], { env: GIT_ENV, encoding: 'utf8' }).trim().split('\n').map((l) => l.split(': ') as [string, string])));
  return {
    objectsKb: Number(out.split('\t')[0]) / 1024,
    prunePackable: counts.map((c) => Number(c['prune-packable'])),
    loose: counts.map((c) => Number(c.count)),
    stores: stores.length,
  };
}

function conf(top: string, file: string): string {
  writeFileSync(file, `[core]\ntoplevel = ${top}\nobjstore = ${top}/objstore\nmanifest = ${top}/manifest.js.gz\nlog = ${top}.log\nloglevel = info\n[manifest]\n[fsck]\nstatusfile = ${top}.status.js\n`);
  return file;
}

const describe = (f: Figures, floorKb: number) =>
  `${(f.objectsKb / 1024).toFixed(2)} MB, ${(f.objectsKb / floorKb).toFixed(2)}x the floor; prune-packable per member: max ${Math.max(...f.prunePackable)}, loose objects per member: max ${Math.max(...f.loose)} (${f.stores} objstore${f.stores === 1 ? '' : 's'})`;

async function main(): Promise<void> {
  const work = await claimWorkDir('grokmirror-ts-bench-forknet');
  rmSync(work, { recursive: true, force: true });
  const ours = path.join(work, 'ours');
  const t0 = performance.now();
  makePushedForkNetwork(ours, { forks: FORKS, commits: COMMITS });
  const theirs = path.join(work, 'grokmirror');
  execFileSync('cp', ['-a', ours, theirs]);
  const floorKb = floorBytes(reposUnder(ours), path.join(work, 'floor.git')) / 1024;
  const before = figures(ours);

  const run = timeProcess([process.execPath, BIN.fsck, '-c', conf(ours, `${ours}.conf`), '-f']);
  const after = figures(ours);
  let peer: string;
  const missing = peerMissing();
  if (missing) peer = `not run: ${missing}`;
  else {
    const env = { ...GIT_ENV, PYTHONPATH: PEER_DIR, PYTHONDONTWRITEBYTECODE: '1' };
    const c = conf(theirs, `${theirs}.conf`);
    spawnSync('python3', ['-m', 'grokmirror.manifest', '--cfgfile', c], { env, stdio: 'ignore' });
    const r = spawnSync('python3', ['-m', 'grokmirror.fsck', '-c', c, '-f'], { env, encoding: 'utf8' });
    peer = r.status === 0 ? describe(figures(theirs), floorKb) : `failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').pop()}`;
  }
  const rows = [
    `| scenario | grokmirror-ts | floor | grokmirror 2.x | target |`,
    `|---|---|---|---|---|`,
    `| before: every fork a full copy, its own commits loose | ${describe(before, floorKb)} | ${(floorKb / 1024).toFixed(2)} MB (one repository holding every object, git repack -a -d -f) | - | - |`,
    `| after one grok-fsck -f | ${describe(after, floorKb)} | ${(floorKb / 1024).toFixed(2)} MB | ${peer} | within 1.3x of the floor, prune-packable 0 |`,
    `| grok-fsck -f wall time on it | ${(run.ms / 1000).toFixed(2)} s (CPU ${run.cpuMs === null ? 'n/a' : `${(run.cpuMs / 1000).toFixed(2)} s`}) | - | - | - |`,
  ];
  const body = [
    `## Fork network: an upstream (${COMMITS} commits) and ${FORKS} forks whose own commits arrived by push`,
    '',
    `Generated by \`npm run bench:forks\` on ${new Date().toISOString().slice(0, 10)}, commit ${execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim()}; objects/ of every repository and objstore in bytes of content (du --apparent-size, hardlinks once); the floor and grokmirror's run are on copies of the same network in the same run.`,
    '',
    ...rows,
  ].join('\n');
  writeSection(path.join(REPO_ROOT, 'BENCHMARKS.md'), 'fork-network', body);
  console.log(body);
  console.log(`(${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  rmSync(work, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
