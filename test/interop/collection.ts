/**
 * The collection the interop suite runs both tools on: the names and shapes that break mirrors. A
 * space, non-ASCII and a deep path in repository names; symlinks at the top and in a subfolder;
 * `clone -s` forks (a grokmirror 1.x style `reference` until grok-fsck moves them into an objstore);
 * 150 packed refs plus loose ones; a two-line description; owners with non-ASCII and with control
 * characters. Same commits and shas every time (fixed identity and dates).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { git, makeRepo, pushCommit } from '../helpers/git.js';

export interface OddCollection {
  readonly top: string;
  /** Every repository's manifest key (symlinks not included). */
  readonly keys: readonly string[];
  /** Symlink key -> the key of the repository it points at. */
  readonly symlinks: Readonly<Record<string, string>>;
  readonly upstream: string;
  /** `git clone -s` of the upstream, each with a commit of its own. */
  readonly forks: readonly string[];
  readonly space: string;
  readonly nonAscii: string;
  readonly deep: string;
  readonly manyRefs: string;
  /** Its gitweb.owner holds an escape and a tab. */
  readonly controlOwner: string;
  readonly controlOwnerValue: string;
  readonly twoLineDescription: string;
  readonly nonAsciiOwner: string;
}

const gitIn = (repo: string, args: string[], input?: string) => git([`--git-dir=${repo}`, ...args], input === undefined ? {} : { input });

export function makeOddCollection(top: string): OddCollection {
  const p = (key: string) => path.join(top, key);
  mkdirSync(top, { recursive: true });
  const upstream = '/upstream.git';
  makeRepo(p(upstream), { commits: 3, date: 1_600_000_000 });
  const twoLineDescription = 'Upstream project\nwith a second line';
  writeFileSync(path.join(p(upstream), 'description'), `${twoLineDescription}\n`);
  const nonAsciiOwner = 'Zoë Ünïcode-Øwner';
  gitIn(p(upstream), ['config', 'gitweb.owner', nonAsciiOwner]);

  const clone = (key: string, opts: { shared?: boolean; branch?: string; date: number }) => {
    mkdirSync(path.dirname(p(key)), { recursive: true });
    git(['clone', '-q', '--bare', ...(opts.shared ? ['-s'] : []), p(upstream), p(key)]);
    pushCommit(p(key), { date: opts.date, ...(opts.branch ? { branch: opts.branch } : {}) });
  };
  const space = '/pub/with space.git';
  clone(space, { date: 1_610_000_000 });
  const nonAscii = '/pub/ünïcødé/répo.git';
  clone(nonAscii, { date: 1_620_000_000, branch: 'développement' });
  const deep = '/deep/a/b/c/d/e/f/g/deep.git';
  clone(deep, { date: 1_630_000_000 });
  const forks = ['/forks/alice/fork.git', '/forks/bob/fork.git'];
  clone(forks[0]!, { shared: true, date: 1_640_000_000 });
  clone(forks[1]!, { shared: true, date: 1_650_000_000, branch: 'bob' });

  const manyRefs = '/many-refs.git';
  makeRepo(p(manyRefs), { commits: 2, date: 1_660_000_000 });
  const head = gitIn(p(manyRefs), ['rev-parse', 'HEAD']);
  const creates = Array.from({ length: 150 }, (_, i) => `create refs/heads/branch-${String(i).padStart(3, '0')} ${head}\n`).join('');
  gitIn(p(manyRefs), ['update-ref', '--stdin'], creates);
  gitIn(p(manyRefs), ['pack-refs', '--all']);
  // loose ones on top of the packed ones: new names, and one packed name moved to another commit
  for (let i = 0; i < 5; i++) gitIn(p(manyRefs), ['update-ref', `refs/tags/loose-${i}`, head]);
  gitIn(p(manyRefs), ['update-ref', 'refs/heads/branch-007', `${head}~1`]);

  const controlOwner = '/owners/control.git';
  const controlOwnerValue = 'Esc\u001b[1mBold\tTab Owner';
  clone(controlOwner, { date: 1_670_000_000 });
  gitIn(p(controlOwner), ['config', 'gitweb.owner', controlOwnerValue]);

  const symlinks: Record<string, string> = { '/alias.git': upstream, '/pub/sub/link.git': deep };
  symlinkSync('upstream.git', p('/alias.git'));
  mkdirSync(p('/pub/sub'), { recursive: true });
  symlinkSync('../../deep/a/b/c/d/e/f/g/deep.git', p('/pub/sub/link.git'));
  return {
    top,
    keys: [upstream, space, nonAscii, deep, ...forks, manyRefs, controlOwner].sort(),
    symlinks,
    upstream,
    forks,
    space,
    nonAscii,
    deep,
    manyRefs,
    controlOwner,
    controlOwnerValue,
    twoLineDescription,
    nonAsciiOwner,
  };
}

/** Every ref of a repository with its object, one per line (what two copies must agree on). */
export function refsOf(repo: string): string {
  return git([`--git-dir=${repo}`, 'for-each-ref', '--format=%(objectname) %(refname)']);
}

/** `git fsck --strict` of a repository: its output when it is not clean, else null. */
export function strictFsckProblem(repo: string): string | null {
  try {
    execFileSync('git', [`--git-dir=${repo}`, 'fsck', '--strict', '--no-progress', '--no-dangling'], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    return null;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() || String(err);
  }
}
