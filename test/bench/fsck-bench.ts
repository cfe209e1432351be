/**
 * grok-fsck on a fork network: disk use before (every fork a full copy) and after (one objstore plus
 * slim members), against the floor of one repository holding every object of the network, fully
 * packed (`git repack -a -d -f`); and the wall time of the run that does the grouping.
 * The network: an upstream of `commits` commits over a tree of 120 text files (fast-import, so deltas
 * matter as in real source trees), `forks` full clones each with commits of their own, a fork of a fork.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GIT_ENV } from '../helpers/git.js';
import { BIN } from '../helpers/fixture.js';
import { timeProcess, type Sample } from './measure.js';

const git = (args: string[], input?: string) => execFileSync('git', args, { env: GIT_ENV, input, encoding: 'utf8', maxBuffer: 1 << 28 }).trim();

function fastImportHistory(dir: string, commits: number, branch: string, seed: number, from: string | null): void {
  let s = '';
  const files = 120;
  for (let i = 0; i < commits; i++) {
    const msg = `${branch} commit ${i}\n`;
    s += `commit refs/heads/${branch}\nmark :${i + 1}\ncommitter Bench <bench@example.org> ${1_600_000_000 + seed * 100_000 + i * 60} +0000\ndata ${msg.length}\n${msg}`;
    if (i > 0) s += `from :${i}\n`;
    else if (from) s += `from ${from}\n`;
    // Each commit rewrites three files: a few changed lines in otherwise stable text, as real edits do.
    for (let k = 0; k < 3; k++) {
      const f = (i * 7 + k * 31 + seed) % files;
      const lines = Array.from({ length: 80 }, (_, l) => `file ${f} line ${l} ${l % 9 === (i + seed) % 9 ? `changed in ${branch} at ${i}` : 'stable text of a source file'}`);
      const data = `${lines.join('\n')}\n`;
      s += `M 644 inline src/f${f}.txt\ndata ${Buffer.byteLength(data)}\n${data}`;
    }
    s += '\n';
  }
  git([`--git-dir=${dir}`, 'fast-import', '--quiet'], s);
}

export interface ForkNetworkFigures {
  readonly repos: number;
  readonly beforeKb: number;
  readonly afterKb: number;
  readonly floorKb: number;
  readonly beforeObjectsKb: number;
  readonly afterObjectsKb: number;
  readonly fsck: Sample;
}

function du(paths: string[], apparent: boolean): number {
  // One du over everything: hardlinked files count once, as on the disk.
  const out = execFileSync('du', ['-sc', ...(apparent ? ['--apparent-size', '-B1'] : ['-B1']), ...paths], { encoding: 'utf8' }).trim().split('\n').pop()!;
  return Number(out.split('\t')[0]) / 1024;
}
/** Disk blocks used, hardlinks once: what the operator's df sees. */
const duKb = (paths: string[]) => du(paths, false);

export function benchFsck(work: string, forks: number, commits: number): ForkNetworkFigures {
  const top = path.join(work, 'forknet');
  rmSync(top, { recursive: true, force: true });
  mkdirSync(path.join(top, 'forks'), { recursive: true });
  const upstream = path.join(top, 'upstream.git');
  git(['init', '-q', '--bare', upstream]);
  fastImportHistory(upstream, commits, 'master', 0, null);
  git([`--git-dir=${upstream}`, 'repack', '-adq']);
  const tip = git([`--git-dir=${upstream}`, 'rev-parse', 'master']);
  const repos = [upstream];
  for (let i = 1; i <= forks; i++) {
    const f = path.join(top, 'forks', `fork${i}.git`);
    git(['clone', '-q', '--bare', '--no-local', upstream, f]);
    fastImportHistory(f, 5 + (i % 7), `topic-${i}`, i, tip);
    git([`--git-dir=${f}`, 'repack', '-adq']);
    repos.push(f);
  }
  const ff = path.join(top, 'forks', 'fork1-fork.git');
  git(['clone', '-q', '--bare', '--no-local', repos[1]!, ff]);
  repos.push(ff);
  // Object storage in bytes of content (packs, indexes, bitmaps, commit-graphs, loose objects): the
  // 4 KiB directory blocks of each slim member are a per-repository constant, reported in the totals.
  const objectsOf = (list: string[]) => du(list.map((r) => path.join(r, 'objects')), true);
  const beforeKb = duKb(repos);
  const beforeObjectsKb = objectsOf(repos);

  // The floor: one repository with every ref of every repo, fully packed.
  const floor = path.join(work, 'forknet-floor.git');
  rmSync(floor, { recursive: true, force: true });
  git(['init', '-q', '--bare', floor]);
  repos.forEach((r, i) => git([`--git-dir=${floor}`, 'fetch', '-q', '--no-tags', r, `+refs/*:refs/r${i}/*`]));
  git([`--git-dir=${floor}`, 'repack', '-a', '-d', '-f', '-q']);
  const floorKb = objectsOf([floor]);

  const conf = path.join(work, 'forknet.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${top}\nobjstore = ${top}/objstore\n[fsck]\nstatusfile = ${work}/forknet-status.js\n`);
  rmSync(path.join(work, 'forknet-status.js'), { force: true });
  const fsck = timeProcess([process.execPath, BIN.fsck, '-c', conf, '-f']);
  const stores = readdirSync(path.join(top, 'objstore')).filter((n) => n.endsWith('.git')).map((n) => path.join(top, 'objstore', n));
  return {
    repos: repos.length,
    beforeKb,
    afterKb: duKb([...repos, ...stores]),
    floorKb,
    beforeObjectsKb,
    afterObjectsKb: objectsOf([...repos, ...stores]),
    fsck,
  };
}
