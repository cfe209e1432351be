/**
 * Collections for benchmarks, generated quickly and deterministically: one seed repository with a
 * chain of commits is copied N times and each copy's master points at a different commit, so every
 * repo has its own fingerprint and date while generation stays cheap.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, linkSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { GIT_ENV } from '../helpers/git.js';

const git = (args: string[], input?: string) => execFileSync('git', args, { env: GIT_ENV, input, encoding: 'utf8', maxBuffer: 1 << 28 }).trim();

/** A bare seed repo with `n` commits on master (made with fast-import); returns the commit ids. */
export function makeSeed(dir: string, n: number): string[] {
  rmSync(dir, { recursive: true, force: true });
  git(['init', '-q', '--bare', dir]);
  let stream = '';
  for (let i = 0; i < n; i++) {
    const msg = `commit ${i}\n`;
    const data = `file ${i}\n`;
    stream += `commit refs/heads/master\nmark :${i + 1}\ncommitter Bench <bench@example.org> ${1_600_000_000 + i * 60} +0000\n`;
    stream += `data ${msg.length}\n${msg}`;
    if (i > 0) stream += `from :${i}\n`;
    stream += `M 644 inline f.txt\ndata ${data.length}\n${data}\n`;
  }
  git([`--git-dir=${dir}`, 'fast-import', '--quiet'], stream);
  git([`--git-dir=${dir}`, 'repack', '-adq']);
  return git([`--git-dir=${dir}`, 'rev-list', '--reverse', 'master']).split('\n');
}

/** `count` small repos under `top`, nested two levels like real collections. Cached by marker file. */
export function makeCollection(top: string, count: number): string[] {
  const marker = path.join(top, `.bench-${count}`);
  const paths = Array.from({ length: count }, (_, i) => path.join(top, `group${i % 20}`, `repo${i}.git`));
  if (existsSync(marker)) return paths;
  rmSync(top, { recursive: true, force: true });
  mkdirSync(top, { recursive: true });
  const seed = path.join(top, '..', `seed-${count}.git`);
  const commits = makeSeed(seed, count);
  paths.forEach((p, i) => {
    cpSync(seed, p, { recursive: true });
    writeFileSync(path.join(p, 'refs/heads/master'), `${commits[i]}\n`);
    rmSync(path.join(p, 'packed-refs'), { force: true });
    writeFileSync(path.join(p, 'description'), `Benchmark repository ${i}\n`);
  });
  writeFileSync(marker, '');
  return paths;
}

/** A synthetic manifest with `count` entries (gzip, one member as grokmirror writes it), shaped like kernel.org's. */
export function writeSyntheticManifest(file: string, count: number, extra: Record<string, unknown> = {}): void {
  const doc: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    doc[`/pub/scm/linux/kernel/git/user${i}/linux.git`] = {
      description: `Linux kernel tree of user ${i}`,
      fingerprint: createHash('sha1').update(String(i)).digest('hex'),
      head: 'ref: refs/heads/master',
      modified: 1_600_000_000 + i,
      owner: `User ${i}`,
      reference: null,
    };
  }
  Object.assign(doc, extra);
  writeFileSync(file, gzipSync(JSON.stringify(doc)));
}

/**
 * `count` real bare repositories under `top` (100 per directory), made without a git process each:
 * HEAD, config, description and packed-refs written, the objects/pack files hardlinked to a seed's
 * pack of one commit. Returns their paths.
 */
export function makeLinkedCollection(top: string, count: number): string[] {
  rmSync(top, { recursive: true, force: true });
  mkdirSync(top, { recursive: true });
  const seed = path.join(top, '.seed.git');
  const [commit] = makeSeed(seed, 1);
  const packDir = path.join(seed, 'objects/pack');
  const packs = readdirSync(packDir).filter((f) => f.endsWith('.pack') || f.endsWith('.idx'));
  const config = '[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n';
  const paths: string[] = [];
  // ext4 allows 65,000 links to one inode: every LINKS_PER_COPY repositories link to a fresh copy.
  const LINKS_PER_COPY = 60_000;
  let from = packDir;
  for (let i = 0; i < count; i++) {
    if (i > 0 && i % LINKS_PER_COPY === 0) {
      from = path.join(top, `.seed-pack-${i / LINKS_PER_COPY}`);
      mkdirSync(from);
      for (const f of packs) copyFileSync(path.join(packDir, f), path.join(from, f));
    }
    const r = path.join(top, `group${Math.floor(i / 100)}`, `repo${i}.git`);
    for (const d of ['refs/heads', 'refs/tags', 'objects/info', 'objects/pack']) mkdirSync(path.join(r, d), { recursive: true });
    writeFileSync(path.join(r, 'HEAD'), 'ref: refs/heads/master\n');
    writeFileSync(path.join(r, 'config'), config);
    writeFileSync(path.join(r, 'description'), `Benchmark repository ${i}\n`);
    writeFileSync(path.join(r, 'packed-refs'), `# pack-refs with: peeled fully-peeled sorted \n${commit} refs/heads/master\n`);
    for (const f of packs) linkSync(path.join(from, f), path.join(r, 'objects/pack', f));
    paths.push(r);
  }
  return paths;
}
