import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parseGitArgs } from '../../replica/bundle/args.js';
import { bundleDirFor } from '../../shared/bundle-layout.js';
import { planBundles, staleBundleDirs } from '../../replica/bundle/plan.js';
import { acquireLock, lockPathFor } from '../../shared/lock.js';
import { runBin } from '../helpers/cli.js';
import { BIN } from '../helpers/fixture.js';
import { fsckOk, git, makeRepo, pushCommit } from '../helpers/git.js';
import { runM } from '../helpers/manifest.js';
import { tmpDir } from '../helpers/tmp.js';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

const REPOS = ['pub/a.git', 'pub/b.git', 'other/c.git'];

/** A toplevel with three repositories (a has a second branch and a tag), its manifest and a config. */
async function setup(t: Teardown) {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  for (const r of REPOS) makeRepo(path.join(top, r), { commits: 3 });
  const a = path.join(top, 'pub/a.git');
  pushCommit(a, { branch: 'next' });
  git([`--git-dir=${a}`, 'tag', 'v1', 'master']);
  const manifest = path.join(top, 'manifest.js.gz');
  await runM(top, manifest);
  const conf = path.join(dir, 'grokmirror.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${top}\nmanifest = ${manifest}\nlog = ${path.join(dir, 'bundle.log')}\n`);
  const out = path.join(dir, 'bundles');
  const run = (...args: string[]) => runBin(BIN.bundle, ['-c', conf, '-o', out, ...args]);
  return { dir, top, manifest, conf, out, run, a };
}

const bundleOf = (out: string, key: string) => path.join(out, bundleDirFor(key), 'clone.bundle');
/** What a bundle's header lists: "<sha> <ref>" lines. */
const headsOf = (bundle: string) => git(['bundle', 'list-heads', bundle]).split('\n').sort();
const refsOf = (repo: string, ...patterns: string[]) => git([`--git-dir=${repo}`, 'for-each-ref', '--format=%(objectname) %(refname)', ...patterns]).split('\n').sort();

t.test('pure parts: layout, -i planning, stale directories, -g parsing', async (t) => {
  t.equal(bundleDirFor('/pub/scm/linux.git'), 'pub/scm/linux');
  t.equal(bundleDirFor('/foo.github.io.git'), 'foo.github.io', 'only the trailing .git goes');
  t.equal(bundleDirFor('/plain'), 'plain');
  const keys = ['/pub/a.git', '/pub/b.git', '/other/c.git', '/pub/a'];
  t.same(planBundles(keys, ['*']).targets.map((x) => x.key), ['/other/c.git', '/pub/a', '/pub/b.git']);
  t.same(planBundles(keys, ['*']).refused, [{ key: '/pub/a.git', why: 'its bundle directory "pub/a" is /pub/a\'s' }]);
  t.same(planBundles(keys, ['/pub/*.git']).targets.map((x) => x.key), ['/pub/b.git'], '/pub/a.git collides with /pub/a');
  t.same(planBundles(keys, ['*'], (d) => (d === 'pub/a' ? '/pub/a.git' : null)).targets.map((x) => x.key), ['/other/c.git', '/pub/a.git', '/pub/b.git'], 'the directory stays with the repository its record names');
  t.same(planBundles(keys, ['*'], (d) => (d === 'pub/a' ? '/gone.git' : null)).refused.map((x) => x.key), ['/pub/a.git'], 'a record naming a repository not in the manifest: the first key');
  t.same(planBundles(keys, ['*/c.git', '/nothing']).targets.map((x) => x.key), ['/other/c.git']);
  t.same(planBundles(keys, ['other/*']).targets, [], 'as grokmirror: keys keep their leading "/"');
  t.same(staleBundleDirs(['pub/a', 'gone/x', 'other/c'], planBundles(['/pub/a.git', '/other/c.git'], []).owned), ['gone/x']);
  t.same(parseGitArgs('-c core.compression=9  -cpack.threads=1'), { 'core.compression': '9', 'pack.threads': '1' });
  t.same(parseGitArgs(''), {});
  for (const bad of ['--exec-path=/tmp', '-c', '-c novalue', 'bundle']) {
    t.throws(() => parseGitArgs(bad), { code: 'GROK_ERR_USAGE' }, bad);
  }
});

t.test('bundles every repository, verifiable and clonable; unchanged ones are left alone, changed ones rebuilt', async (t) => {
  const s = await setup(t);
  const first = await s.run();
  t.equal(first.code, 0, first.stderr);
  for (const r of REPOS) {
    const b = bundleOf(s.out, `/${r}`);
    t.ok(existsSync(b), `${b} written`);
    git([`--git-dir=${path.join(s.top, r)}`, 'bundle', 'verify', '-q', b]);
    t.same(readdirSync(path.dirname(b)).sort(), ['.fingerprint', 'clone.bundle'], 'nothing else (no temp files) beside it');
  }
  // The default -r "--branches HEAD": every branch and HEAD, no tags.
  const aBundle = bundleOf(s.out, '/pub/a.git');
  const branches = refsOf(s.a, 'refs/heads/');
  t.same(headsOf(aBundle).filter((l) => !l.endsWith(' HEAD')), branches);
  t.ok(headsOf(aBundle).some((l) => l.endsWith(' HEAD')));
  const clone = path.join(s.dir, 'clone');
  git(['clone', '-q', '--mirror', aBundle, clone]);
  t.same(refsOf(clone, 'refs/heads/'), branches, 'a clone of the bundle has the branches');
  t.ok(fsckOk(clone).ok, fsckOk(clone).output);
  t.match(readFileSync(path.join(path.dirname(aBundle), '.fingerprint'), 'utf8'), /^[0-9a-f]{40}\nargs [0-9a-f]{16}\nrepo \/pub\/a\.git\n$/);

  const before = Object.fromEntries(REPOS.map((r) => [r, statSync(bundleOf(s.out, `/${r}`))]));
  const again = await s.run();
  t.equal(again.code, 0, again.stderr);
  for (const r of REPOS) {
    const st = statSync(bundleOf(s.out, `/${r}`));
    t.equal(st.ino, before[r]!.ino, `${r}: same file`);
    t.equal(st.mtimeMs, before[r]!.mtimeMs, `${r}: not rewritten`);
  }

  const sha = pushCommit(s.a, { branch: 'master', message: 'after the bundle' });
  // A temp file of a run that was killed is cleared when the bundle is next made.
  const leftover = path.join(path.dirname(aBundle), '.clone.bundle.0123456789ab.tmp');
  writeFileSync(leftover, 'partial');
  const third = await s.run();
  t.equal(third.code, 0, third.stderr);
  t.not(statSync(aBundle).ino, before['pub/a.git']!.ino, 'the changed repository gets a new bundle');
  t.ok(headsOf(aBundle).includes(`${sha} refs/heads/master`));
  t.notOk(existsSync(leftover), 'leftover temp file removed');
  t.equal(statSync(bundleOf(s.out, '/pub/b.git')).ino, before['pub/b.git']!.ino, 'the others are untouched');
  for (const r of REPOS) t.ok(fsckOk(path.join(s.top, r)).ok);
});

t.test('-i globs, -s size cap, -r rev-list args, -g git settings', async (t) => {
  const s = await setup(t);
  const inc = await s.run('-i', '/pub/*', '*/c.git', '-s', '0', '-i', '/pub/b.git');
  t.equal(inc.code, 0, inc.stderr);
  t.same(readdirSync(s.out).filter((f) => !f.startsWith('.')), [], '-s 0: every repository is over the cap');

  const only = await s.run('-i', '/pub/*');
  t.equal(only.code, 0, only.stderr);
  t.ok(existsSync(bundleOf(s.out, '/pub/a.git')));
  t.ok(existsSync(bundleOf(s.out, '/pub/b.git')));
  t.notOk(existsSync(bundleOf(s.out, '/other/c.git')), 'not matched by -i');

  // Other rev-list args make a different bundle: made again, though the repository did not change.
  const aBundle = bundleOf(s.out, '/pub/a.git');
  const ino = statSync(aBundle).ino;
  const r = await s.run('-i', '/pub/a.git', '-r', '--tags refs/heads/next');
  t.equal(r.code, 0, r.stderr);
  t.not(statSync(aBundle).ino, ino, 'rebuilt for the new -r');
  t.same(headsOf(aBundle), refsOf(s.a, 'refs/tags/', 'refs/heads/next'), 'the tag and the one branch asked for');

  // -g reaches git: no compression makes a larger bundle of the same refs.
  const c = path.join(s.top, 'other/c.git');
  const cBundle = bundleOf(s.out, '/other/c.git');
  t.equal((await s.run('-i', '/other/c.git')).code, 0);
  const packed = statSync(cBundle).size;
  const g = await s.run('-i', '/other/c.git', '-g', '-c core.compression=0 -c pack.compression=0');
  t.equal(g.code, 0, g.stderr);
  t.ok(statSync(cBundle).size > packed, `uncompressed ${statSync(cBundle).size} > compressed ${packed}`);
  git([`--git-dir=${c}`, 'bundle', 'verify', '-q', cBundle]);

  const bad = await s.run('-g', '--exec-path=/tmp');
  t.equal(bad.code, 2);
  t.match(bad.stderr, /only "-c key=value" items/);
  const badSize = await s.run('-s', 'lots');
  t.equal(badSize.code, 2);
  t.match(badSize.stderr, /-s "lots"/);
  for (const r of REPOS) t.ok(fsckOk(path.join(s.top, r)).ok);
});

t.test('a repository held by grok-pull or grok-fsck is skipped until the next run', async (t) => {
  const s = await setup(t);
  const held = await acquireLock(lockPathFor(s.a));
  const res = await s.run('-v');
  t.equal(res.code, 0, res.stderr);
  t.notOk(existsSync(bundleOf(s.out, '/pub/a.git')), 'not bundled while locked');
  t.ok(existsSync(bundleOf(s.out, '/pub/b.git')));
  await held.release();
  t.equal((await s.run()).code, 0);
  t.ok(existsSync(bundleOf(s.out, '/pub/a.git')));
  t.ok(fsckOk(s.a).ok);
});

t.test('bundles of repositories gone from the manifest are removed; nothing else is', async (t) => {
  const s = await setup(t);
  t.equal((await s.run()).code, 0);
  const keep = path.join(s.out, 'README.txt');
  writeFileSync(keep, 'operator notes\n');
  mkdirSync(path.join(s.out, 'other/unrelated'), { recursive: true });
  rmSync(path.join(s.top, 'other/c.git'), { recursive: true });
  await runM(s.top, s.manifest, { purge: true });
  const res = await s.run('-i', '/pub/a.git');
  t.equal(res.code, 0, res.stderr);
  t.notOk(existsSync(path.join(s.out, 'other/c')), 'the stale bundle directory is gone');
  t.ok(existsSync(path.join(s.out, 'other/unrelated')), 'a directory without a bundle stays');
  t.ok(existsSync(keep));
  t.ok(existsSync(bundleOf(s.out, '/pub/b.git')), 'bundles of repositories -i did not select stay');

  // The toplevel may not be the bundle directory: the stale search would walk every repository.
  const inTop = await runBin(BIN.bundle, ['-c', s.conf, '-o', s.top]);
  t.equal(inTop.code, 2);
  t.match(inTop.stderr, /may not be the toplevel/);
  for (const r of ['pub/a.git', 'pub/b.git']) t.ok(fsckOk(path.join(s.top, r)).ok);
});
