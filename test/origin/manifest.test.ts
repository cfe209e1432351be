import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { fetchIntoObjstore } from '../../origin/manifest/objstore-fetch.js';
import { Git } from '../../shared/git/index.js';
import { silentLogger } from '../../shared/log.js';
import { virtrefFor } from '../../shared/objstore/virtref.js';
import { expectedManifest, makeGrokmirrorFixture } from '../helpers/fixture.js';
import { fsckOk, git, gitDir, makeRepo, pushCommit } from '../helpers/git.js';
import { mfile, NOW_MS, readM, runM } from '../helpers/manifest.js';
import { tmpDir } from '../helpers/tmp.js';

const NOW = NOW_MS / 1000;

t.test('a full walk of grokmirror\'s reference collection gives grokmirror\'s manifest', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeGrokmirrorFixture(top);
  const f = mfile(dir, 'manifest.js');
  const res = await runM(top, f, { pretty: true });
  t.same(await readM(f), expectedManifest('manifest.expected.json'));
  t.equal(res.added.length, 6);
  t.same(res.failed, []);
  t.equal(readFileSync(path.join(top, 'plain.git/grokmirror.fingerprint'), 'utf8'), '49e8263bab2074e39e94142179b06572d60b5c4f', 'fingerprint cache, no newline');
  for (const r of ['plain.git', 'pub/meta.git', 'forks/fork1.git']) t.ok(fsckOk(path.join(top, r)).ok, `${r} fsck`);
});

t.test('-r ignore-ref globs change only the fingerprint, as in grokmirror', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeGrokmirrorFixture(top);
  const f = mfile(dir);
  await runM(top, f, { ignoreRefs: ['refs/meta/*'] });
  t.same(await readM(f), expectedManifest('manifest.ignore-meta.expected.json'));
  await runM(top, f, { ignoreRefs: ['refs/*'] });
  t.equal((await readM(f))['/plain.git']!.fingerprint, 'da39a3ee5e6b4b0d3255bfef95601890afd80709', 'all refs ignored: sha1 of nothing, still listed');
});

t.test('the fingerprint is sha1 of git show-ref output', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  const repo = path.join(top, 'r.git');
  const sha = makeRepo(repo, { commits: 3 });
  gitDir(repo, ['tag', '-a', '-m', 'annotated', 'v1', sha]);
  gitDir(repo, ['branch', 'zeta', sha]);
  gitDir(repo, ['pack-refs', '--all']);
  gitDir(repo, ['branch', 'alpha', `${sha}~1`]);
  gitDir(repo, ['symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/heads/master']);
  const f = mfile(dir);
  await runM(top, f);
  const showRef = execFileSync('git', [`--git-dir=${repo}`, 'show-ref']);
  t.equal((await readM(f))['/r.git']!.fingerprint, createHash('sha1').update(showRef).digest('hex'));
  t.ok(fsckOk(repo).ok);
});

t.test('fields: tags-only repo, detached HEAD, owner, description, empty repo', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  const tagsOnly = path.join(top, 'tagsonly.git');
  const sha = makeRepo(tagsOnly);
  gitDir(tagsOnly, ['tag', '-a', '-m', 'only a tag', 'v1', sha]);
  gitDir(tagsOnly, ['update-ref', '-d', 'refs/heads/master']);
  const plain = path.join(top, 'plain.git');
  makeRepo(plain, { date: 1_650_000_000 });
  git(['init', '-q', '--bare', path.join(top, 'empty.git')]);
  const f = mfile(dir);
  await runM(top, f);
  const m = await readM(f);
  t.equal(m['/tagsonly.git']!.modified, NOW, 'only annotated tags: modified falls back to now');
  t.equal(m['/plain.git']!.modified, 1_650_000_000);
  t.notOk('/empty.git' in m, 'a repo without refs is not listed');
  t.notOk('owner' in m['/plain.git']! || 'description' in m['/plain.git']!, 'git\'s default description is not listed');
  t.equal(m['/plain.git']!.reference, null);
  t.ok(fsckOk(tagsOnly).ok && fsckOk(plain).ok);
});

t.test('updating an entry recomputes every field (fix: removed description/owner go away)', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  const repo = path.join(top, 'r.git');
  makeRepo(repo);
  writeFileSync(path.join(repo, 'description'), 'Described\n');
  gitDir(repo, ['config', 'gitweb.owner', 'Ann']);
  const f = mfile(dir);
  await runM(top, f);
  t.match((await readM(f))['/r.git'], { description: 'Described', owner: 'Ann' });
  writeFileSync(path.join(repo, 'description'), 'Unnamed repository; edit this file to name it for gitweb.\n');
  gitDir(repo, ['config', '--unset', 'gitweb.owner']);
  const res = await runM(top, f, { paths: [repo] });
  const e = (await readM(f))['/r.git']!;
  t.notOk('description' in e, 'description gone');
  t.notOk('owner' in e, 'owner gone');
  t.same(res.updated, ['/r.git']);
});

t.test('single-path update (the hook case) touches only that entry; -n uses now', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'a.git'));
  makeRepo(path.join(top, 'b.git'));
  const f = mfile(dir);
  await runM(top, f);
  const before = await readM(f);
  // b changes behind our back; only a is named, so b's entry must stay as it was
  pushCommit(path.join(top, 'b.git'));
  const newSha = pushCommit(path.join(top, 'a.git'), { date: 1_700_000_100 });
  const res = await runM(top, f, { paths: [path.join(top, 'a.git')], useNow: true });
  const after = await readM(f);
  t.same(res.updated, ['/a.git']);
  t.same(after['/b.git'], before['/b.git']);
  t.not(after['/a.git']!.fingerprint, before['/a.git']!.fingerprint);
  t.equal(after['/a.git']!.modified, NOW, '-n: modified is now');
  t.equal(readFileSync(path.join(top, 'a.git/grokmirror.fingerprint'), 'utf8'), after['/a.git']!.fingerprint);
  t.equal(gitDir(path.join(top, 'a.git'), ['rev-parse', 'master']), newSha);
  t.ok(fsckOk(path.join(top, 'a.git')).ok);
});

t.test('-n is ignored on an empty manifest (the first run uses commit dates)', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'a.git'), { date: 1_600_000_000 });
  const f = mfile(dir);
  await runM(top, f, { useNow: true });
  t.equal((await readM(f))['/a.git']!.modified, 1_600_000_000);
});

t.test('an unchanged walk does not rewrite the manifest (replicas keep getting 304s)', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'a.git'));
  const f = mfile(dir);
  await runM(top, f);
  const mtime = statSync(f).mtimeMs;
  await new Promise((r) => setTimeout(r, 20));
  const res = await runM(top, f);
  t.equal(res.written, false);
  t.equal(statSync(f).mtimeMs, mtime);
});

t.test('-x removes entries and their mentions in symlinks; -p purges; a repo that lost its refs is dropped', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'a.git'));
  makeRepo(path.join(top, 'b.git'));
  makeRepo(path.join(top, 'c.git'));
  symlinkSync('b.git', path.join(top, 'bee.git'));
  const f = mfile(dir);
  await runM(top, f);
  t.same((await readM(f))['/b.git']!.symlinks, ['/bee.git']);
  await runM(top, f, { paths: [path.join(top, 'bee.git')], remove: true });
  t.notOk('symlinks' in (await readM(f))['/b.git']!, '-x of a symlink drops it from its target');
  await runM(top, f, { paths: [path.join(top, 'a.git')], remove: true });
  t.notOk('/a.git' in (await readM(f)));
  t.ok(statSync(path.join(top, 'a.git')).isDirectory(), '-x never touches the repository itself');
  rmSync(path.join(top, 'b.git'), { recursive: true });
  const purged = await runM(top, f, { purge: true });
  t.same(purged.removed.map((r) => r.key), ['/b.git']);
  t.same(Object.keys(await readM(f)).sort(), ['/a.git', '/c.git'], 'a.git comes back with the walk, b.git is purged');
  gitDir(path.join(top, 'c.git'), ['update-ref', '-d', 'refs/heads/master']);
  const res = await runM(top, f, { paths: [path.join(top, 'c.git')] });
  t.same(res.removed, [{ key: '/c.git', why: 'repository has no refs' }]);
});

t.test('-c lists only exported repos and drops ones that stop being exported', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'pub.git'));
  makeRepo(path.join(top, 'priv.git'));
  writeFileSync(path.join(top, 'pub.git/git-daemon-export-ok'), '');
  const f = mfile(dir);
  await runM(top, f, { checkExportOk: true });
  t.same(Object.keys(await readM(f)), ['/pub.git']);
  unlinkSync(path.join(top, 'pub.git/git-daemon-export-ok'));
  await runM(top, f, { checkExportOk: true, paths: [path.join(top, 'pub.git')] });
  t.same(Object.keys(await readM(f)), []);
});

t.test('-i ignore globs keep repos out, in walks and in path mode', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'a.git'));
  makeRepo(path.join(top, 'testing/t.git'));
  const f = mfile(dir);
  await runM(top, f, { ignorePaths: ['/testing/*'] });
  t.same(Object.keys(await readM(f)), ['/a.git']);
  await runM(top, f, { ignorePaths: ['*/testing/*'], paths: [path.join(top, 'testing/t.git')] });
  t.same(Object.keys(await readM(f)), ['/a.git']);
});

t.test('objstore members get forkgroup and reference; -o fetches into the objstore', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  const a = path.join(top, 'a.git');
  const b = path.join(top, 'b.git');
  makeRepo(a);
  git(['clone', '-q', '--bare', a, b]);
  const obj = path.join(top, 'objstore', 'fg1.git');
  git(['init', '-q', '--bare', obj]);
  writeFileSync(path.join(obj, 'grokmirror.objstore'), `# one\n# two\n# three\n${a}\n${b}\n`);
  for (const m of [a, b]) {
    const v = virtrefFor(m);
    gitDir(obj, ['remote', 'add', '--no-tags', v, m]);
    gitDir(obj, ['config', `remote.${v}.fetch`, `+refs/*:refs/virtual/${v}/*`]);
    gitDir(obj, ['fetch', '-q', v]);
    writeFileSync(path.join(m, 'objects/info/alternates'), `${obj}/objects\n`);
  }
  const f = mfile(dir);
  await runM(top, f);
  const m = await readM(f);
  t.match(m['/a.git'], { forkgroup: 'fg1', reference: null }, 'first member: no reference');
  t.match(m['/b.git'], { forkgroup: 'fg1', reference: '/a.git' }, 'others: the first member (1.x replicas)');
  t.notOk('/objstore/fg1.git' in m, 'objstore repos are not listed');

  const newSha = pushCommit(b, { branch: 'feature' });
  await runM(top, f, { paths: [b], fetchObjstore: true });
  t.equal(gitDir(obj, ['rev-parse', `refs/virtual/${virtrefFor(b)}/heads/feature`]), newSha, '-o fetched the new branch');
  t.equal(readFileSync(path.join(obj, `grokmirror.${virtrefFor(b)}.fingerprint`), 'utf8'), (await readM(f))['/b.git']!.fingerprint);
  const busy = await fetchIntoObjstore(new Git(), silentLogger(), path.join(top, 'nobody.git'), obj);
  t.equal(busy, 'not-a-member');
  for (const r of [a, b, obj]) t.ok(fsckOk(r).ok, `${r} fsck`);
});

t.test('reference keeps its stored value while the forkgroup is unchanged, and follows symlinks', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  const a = path.join(top, 'a.git');
  makeRepo(a);
  git(['clone', '-q', '--bare', '--shared', a, path.join(top, 'fork.git')]);
  symlinkSync('a.git', path.join(top, 'alias.git'));
  writeFileSync(path.join(top, 'fork.git/objects/info/alternates'), `${path.join(top, 'alias.git')}/objects\n`);
  const f = mfile(dir);
  await runM(top, f);
  t.equal((await readM(f))['/fork.git']!.reference, '/a.git', 'alternates through a symlink resolve to the real repo');
  t.ok(fsckOk(path.join(top, 'fork.git')).ok);
});

t.test('path mode with a symlink adds it; a stale symlink disappears on update', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'a.git'));
  makeRepo(path.join(top, 'b.git'));
  const f = mfile(dir);
  await runM(top, f);
  symlinkSync('a.git', path.join(top, 'link.git'));
  await runM(top, f, { paths: [path.join(top, 'link.git')] });
  t.same((await readM(f))['/a.git']!.symlinks, ['/link.git']);
  renameSync(path.join(top, 'link.git'), path.join(top, 'moved.git'));
  await runM(top, f, { paths: [path.join(top, 'a.git')] });
  t.notOk('symlinks' in (await readM(f))['/a.git']!);
});

t.test('grokmirror (Python) reads what we write, the way its read_manifest does', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeGrokmirrorFixture(top);
  const f = mfile(dir);
  await runM(top, f);
  const py = [
    'import gzip, json, sys',
    'm = json.loads(gzip.open(sys.argv[1], "rb").read().decode("utf-8"))',
    'for k, v in sorted(m.items()):',
    '    assert k.startswith("/"), k',
    '    assert isinstance(v["modified"], int) and len(v["fingerprint"]) == 40 and "reference" in v and "head" in v',
    'print(json.dumps(sorted(m)))',
  ].join('\n');
  const out = execFileSync('python3', ['-c', py, f], { encoding: 'utf8' });
  t.same(JSON.parse(out), Object.keys(expectedManifest('manifest.expected.json')).sort());
});
