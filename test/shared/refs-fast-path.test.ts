import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { Git, readRefFiles } from '../../shared/git/index.js';
import { newestCommitDates, parseBatch } from '../../shared/repo/commit-dates.js';
import { fingerprintOf, readRefStateWithGit } from '../../shared/repo/refs.js';
import { fsckOk, GIT_ENV, gitDir, makeRepo, pushCommit } from '../helpers/git.js';
import { tmpDir } from '../helpers/tmp.js';

const showRefSha1 = (repo: string) => createHash('sha1').update(execFileSync('git', [`--git-dir=${repo}`, 'show-ref'], { env: GIT_ENV })).digest('hex');

/** Repos whose refs are stored every way git stores them. */
function variety(top: string): string[] {
  const plain = path.join(top, 'plain.git');
  makeRepo(plain, { commits: 3 });
  const packed = path.join(top, 'packed.git');
  const sha = makeRepo(packed, { commits: 2 });
  gitDir(packed, ['tag', '-a', '-m', 'annotated', 'v1', 'master']);
  gitDir(packed, ['tag', 'light', 'master~1']);
  gitDir(packed, ['pack-refs', '--all']);
  // a loose ref that overrides its packed value, and refs that sort across packed and loose
  gitDir(packed, ['update-ref', 'refs/heads/master', 'master~1']);
  gitDir(packed, ['branch', 'a-loose', 'master']);
  gitDir(packed, ['branch', 'zz/deep/nested', 'master']);
  gitDir(packed, ['symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/heads/master']);
  gitDir(packed, ['update-ref', 'refs/notes/commits', sha]);
  // an update in progress leaves a .lock beside the ref; git ignores it
  writeFileSync(path.join(packed, 'refs/heads/master.lock'), `${sha}\n`);
  const utf8 = path.join(top, 'utf8.git');
  makeRepo(utf8);
  gitDir(utf8, ['branch', 'ünïcödé', 'master']);
  gitDir(utf8, ['branch', 'Upper', 'master']);
  return [plain, packed, utf8];
}

t.test('refs read from files give exactly git show-ref\'s fingerprint', async (t) => {
  const dir = tmpDir(t);
  for (const repo of variety(dir)) {
    const files = readRefFiles(repo);
    t.ok(files.ok, `${path.basename(repo)} read from files`);
    if (!files.ok) continue;
    t.equal(fingerprintOf(files.refs), showRefSha1(repo), `${path.basename(repo)}: same as git show-ref | sha1sum`);
    const viaGit = await readRefStateWithGit(new Git(), repo);
    t.equal(viaGit?.fingerprint, showRefSha1(repo), `${path.basename(repo)}: the git path agrees`);
    t.ok(fsckOk(repo).ok);
  }
});

t.test('anything unusual falls back to git', async (t) => {
  const dir = tmpDir(t);
  const repo = path.join(dir, 'r.git');
  makeRepo(repo);
  const cases: [string, () => void, () => void][] = [
    ['garbage loose ref', () => writeFileSync(path.join(repo, 'refs/heads/bad'), 'not a sha\n'), () => rmSync(path.join(repo, 'refs/heads/bad'))],
    ['dangling symref', () => writeFileSync(path.join(repo, 'refs/heads/sym'), 'ref: refs/heads/nowhere\n'), () => rmSync(path.join(repo, 'refs/heads/sym'))],
    ['reftable', () => mkdirSync(path.join(repo, 'reftable')), () => rmSync(path.join(repo, 'reftable'), { recursive: true })],
    ['bad packed-refs', () => writeFileSync(path.join(repo, 'packed-refs'), 'junk\n'), () => rmSync(path.join(repo, 'packed-refs'))],
    ['odd name', () => writeFileSync(path.join(repo, 'refs/heads/.hidden'), '0'.repeat(40)), () => rmSync(path.join(repo, 'refs/heads/.hidden'))],
  ];
  for (const [name, make, undo] of cases) {
    make();
    const res = readRefFiles(repo);
    t.equal(res.ok, false, name);
    // show-ref dies on a broken ref (grokmirror then drops the whole repo as "no heads");
    // the for-each-ref fallback skips just that ref, so the repo stays listed.
    const fallback = name === 'garbage loose ref' ? await readRefStateWithGit(new Git(), repo) : null;
    undo();
    if (fallback) t.equal(fallback.fingerprint, showRefSha1(repo), 'fallback hashes the valid refs only');
  }
  t.equal(readRefFiles(repo).ok, true, 'clean again');
  t.same(readRefFiles(path.join(dir, 'missing.git')), { ok: true, refs: [] }, 'no refs dir: no refs');
});

t.test('batched commit dates equal git for-each-ref\'s newest committerdate', async (t) => {
  const dir = tmpDir(t);
  const repos = variety(dir);
  const tagsOnly = path.join(dir, 'tagsonly.git');
  makeRepo(tagsOnly);
  gitDir(tagsOnly, ['tag', '-a', '-m', 't', 'v1', 'master']);
  gitDir(tagsOnly, ['update-ref', '-d', 'refs/heads/master']);
  // a freshly pushed tip is a loose object, found through the alternates list too
  const loose = path.join(dir, 'loose.git');
  makeRepo(loose);
  pushCommit(loose, { date: 1_750_000_000 });
  const all = [...repos, tagsOnly, loose];
  const git = new Git();
  const sets = all.map((r) => {
    const files = readRefFiles(r);
    if (!files.ok) throw new Error(files.why);
    return { gitDir: r, oids: [...new Set(files.refs.map((x) => x.oid))] };
  });
  sets.push({ gitDir: path.join(dir, 'plain.git'), oids: ['0123456789012345678901234567890123456789'] });
  const dates = await newestCommitDates(git, sets);
  for (const r of all) {
    const out = execFileSync('git', [`--git-dir=${r}`, 'for-each-ref', '--sort=-committerdate', '--count=1', '--format=%(committerdate:unix)'], { env: GIT_ENV, encoding: 'utf8' }).trim();
    t.equal(dates.get(r), out === '' ? null : Number(out), path.basename(r));
  }
  t.equal(dates.get(path.join(dir, 'loose.git')), 1_750_000_000);
  t.equal(dates.size, all.length, 'the set with a missing object is left for the caller');
  t.same([...parseBatch(Buffer.from('abc missing\n'))], []);
  for (const r of all) t.ok(fsckOk(r).ok, `${path.basename(r)} fsck`);
});
