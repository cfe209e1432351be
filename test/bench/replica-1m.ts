/**
 * The 1M-entry replica scenario (issue 19): an origin toplevel holding a few real repositories, a
 * manifest of `count` entries (the real ones plus synthetic entries with nothing on disk), and a
 * replica config that wants only the real ones (`[pull] include`), the same config for grokmirror
 * and for us (each with its own toplevel). `change()` pushes to one real repository and updates
 * its manifest entry, as the origin's hook would.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BIN } from '../helpers/fixture.js';
import { GIT_ENV } from '../helpers/git.js';
import { makeSeed, writeSyntheticManifest } from './gen.js';

export interface Replica1M {
  readonly dir: string;
  readonly originTop: string;
  readonly manifest: string;
  /** The keys of the real repositories, all wanted. */
  readonly real: readonly string[];
  /** Config files: ours and grokmirror's (same settings, own toplevels). */
  readonly conf: string;
  readonly peerConf: string;
  readonly mirror: string;
  readonly peerMirror: string;
  /** One push to the first real repository and its entry updated in the manifest. */
  readonly change: () => void;
}

function confText(top: string, originTop: string, manifest: string, include: readonly string[], extra: string): string {
  return [
    '[core]',
    `toplevel = ${top}`,
    `manifest = ${path.join(top, 'manifest.js.gz')}`,
    `log = ${path.join(top, '..', `${path.basename(top)}.log`)}`,
    '[remote]',
    `site = ${originTop}`,
    `manifest = file://${manifest}`,
    '[pull]',
    `include = ${include.join('\n  ')}`,
    'pull_threads = 2',
    extra,
    '',
  ].join('\n');
}

/**
 * Made once per `dir` and reused (a marker records it): generating a 1M-entry manifest takes a while.
 * `fresh` starts over, mirrors included.
 */
export function makeReplica1M(dir: string, count: number, opts: { real?: number; pullExtra?: string; fresh?: boolean } = {}): Replica1M {
  const marker = path.join(dir, `.ready-${count}-${opts.real ?? 1}`);
  const reuse = !opts.fresh && existsSync(marker);
  if (!reuse) rmSync(dir, { recursive: true, force: true });
  const originTop = path.join(dir, 'origin');
  const realCount = opts.real ?? 1;
  const real = Array.from({ length: realCount }, (_, i) => `/real${i === 0 ? '' : i}.git`);
  const seed = path.join(dir, 'seed.git');
  const manifest = path.join(dir, 'manifest.js.gz');
  const mirror = path.join(dir, 'ours');
  const peerMirror = path.join(dir, 'peer');
  let commits: string[];
  if (reuse) {
    commits = execFileSync('git', [`--git-dir=${seed}`, 'rev-list', '--reverse', 'master'], { env: GIT_ENV, encoding: 'utf8' }).trim().split('\n');
  } else {
    mkdirSync(originTop, { recursive: true });
    commits = makeSeed(seed, 50);
    for (const k of real) execFileSync('git', ['clone', '-q', '--bare', seed, path.join(originTop, k)], { env: GIT_ENV });
    // The real entries as grok-manifest writes them, then the synthetic rest around them.
    const small = path.join(dir, 'small.js.gz');
    execFileSync(process.execPath, [BIN.manifest, '-m', small, '-t', originTop], { env: GIT_ENV });
    const realEntries = JSON.parse(gunzipSync(readFileSync(small)).toString('utf8')) as Record<string, unknown>;
    writeSyntheticManifest(manifest, count - realCount, realEntries);
    mkdirSync(mirror);
    mkdirSync(peerMirror);
    writeFileSync(marker, '');
  }
  const conf = path.join(dir, 'ours.conf');
  const peerConf = path.join(dir, 'peer.conf');
  writeFileSync(conf, confText(mirror, originTop, manifest, real, opts.pullExtra ?? ''));
  writeFileSync(peerConf, confText(peerMirror, originTop, manifest, real, opts.pullExtra ?? ''));
  let next = Date.now() % 40;
  const change = () => {
    const repo = path.join(originTop, real[0]!);
    execFileSync('git', [`--git-dir=${repo}`, 'update-ref', 'refs/heads/master', commits[next++ % (commits.length - 1)]!], { env: GIT_ENV });
    execFileSync(process.execPath, [BIN.manifest, '-n', '-m', manifest, '-t', originTop, repo], { env: GIT_ENV });
  };
  return { dir, originTop, manifest, real, conf, peerConf, mirror, peerMirror, change };
}
