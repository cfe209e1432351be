import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import path from 'node:path';
import t from 'tap';
import { Git } from '../../shared/git/index.js';
import { addMember, borrowFrom, createObjstore, fetchMember, readMembers } from '../../shared/objstore/index.js';
import { virtrefFor } from '../../shared/objstore/virtref.js';
import { fsckOk, git, makeRepo, pushCommit } from '../helpers/git.js';
import { readM, runM } from '../helpers/manifest.js';
import { startTestOrigin } from '../helpers/origin.js';
import { pull, replicaConfig } from '../helpers/replica.js';
import { tmpDir } from '../helpers/tmp.js';

const refsOf = (repo: string) => git([`--git-dir=${repo}`, 'for-each-ref', '--format=%(objectname) %(refname)']);
const countObjects = (repo: string) => Object.fromEntries(git([`--git-dir=${repo}`, 'count-objects', '-v']).split('\n').map((l) => l.split(': ') as [string, string]));
const ownObjects = (repo: string) => {
  const info = Object.fromEntries(git([`--git-dir=${repo}`, 'count-objects', '-v']).split('\n').map((l) => l.split(': ') as [string, string]));
  return Number(info.count) + Number(info['in-pack']);
};

t.test('forks clone against a shared objstore: only their own objects travel', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  const up = path.join(top, 'linux.git');
  makeRepo(up, { commits: 30 });
  const forks = ['alice', 'bob', 'carol', 'private/dave'].map((u) => path.join(top, `users/${u}/linux.git`));
  for (const f of forks) {
    git(['clone', '-q', '--bare', up, f]);
    pushCommit(f, { branch: `${path.basename(path.dirname(f))}-work` });
  }
  // The origin's objstore, made with the same code grok-fsck uses; the private fork borrows only.
  const g = new Git();
  const obst = path.join(top, 'objstore', 'net1.git');
  await createObjstore(g, obst);
  await runM(top, path.join(top, 'manifest.js.gz'));
  for (const r of [up, ...forks]) {
    if (!r.includes('/private/')) {
      await addMember(g, obst, r);
      await fetchMember(g, obst, r);
    }
    await borrowFrom(r, obst);
  }
  await runM(top, path.join(top, 'manifest.js.gz'), { purge: true });
  const m = await readM(path.join(top, 'manifest.js.gz'));
  t.equal(m['/users/bob/linux.git']?.forkgroup, 'net1', 'the origin lists the forkgroup');

  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  const config = replicaConfig(mirror, origin.url);
  const withPrivate = { ...config, core: { ...config.core, private: ['*/private/*'] } };
  const res = await pull(withPrivate);
  t.equal(res.cloned.length, 5);
  t.same(res.failed, []);
  const mobst = path.join(mirror, 'objstore', 'net1.git');
  const members = await readMembers(mobst);
  t.ok(members.length >= 3, `the replica made its own objstore with ${members.length} members`);
  t.notOk(members.some((x) => x.includes('/private/')), 'the private fork is no member');
  const alt = (r: string) => readFileSync(path.join(mirror, r, 'objects/info/alternates'), 'utf8').trim();
  for (const u of ['alice', 'bob', 'carol', 'private/dave']) t.equal(alt(`users/${u}/linux.git`), path.join(mobst, 'objects'), `${u} borrows from it`);
  // whichever fork came first brought everything; the ones after it fetched only their own work
  const sizes = ['alice', 'bob', 'carol'].map((u) => ownObjects(path.join(mirror, `users/${u}/linux.git`)));
  const full = ownObjects(up);
  t.ok(sizes.filter((n) => n <= 6).length >= 2, `later forks hold only their own objects: ${sizes.join(', ')} (the upstream has ${full})`);
  for (const r of ['linux.git', ...['alice', 'bob', 'carol', 'private/dave'].map((u) => `users/${u}/linux.git`)]) {
    t.equal(refsOf(path.join(mirror, r)), refsOf(path.join(top, r)), `${r}: same refs`);
    t.ok(fsckOk(path.join(mirror, r)).ok, `${r}: git fsck (through alternates)`);
  }
  t.ok(fsckOk(mobst).ok, 'objstore: git fsck');
  for (const u of ['alice', 'bob', 'carol']) t.equal(countObjects(path.join(mirror, `users/${u}/linux.git`))['prune-packable'], '0', `${u}: no loose copy of what a pack holds after the clone`);

  // a later push to a fork: fetched, then fed to the objstore by housekeeping
  const sha = pushCommit(path.join(top, 'users/bob/linux.git'), { branch: 'feature' });
  await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/users/bob/linux.git'] } });
  const again = await pull(withPrivate);
  t.same(again.updated, ['/users/bob/linux.git']);
  const v = virtrefFor(path.join(mirror, 'users/bob/linux.git'));
  t.equal(git([`--git-dir=${mobst}`, 'rev-parse', `refs/virtual/${v}/heads/feature`]), sha, 'the objstore has the new branch');
  const bob = countObjects(path.join(mirror, 'users/bob/linux.git'));
  t.equal(bob['prune-packable'], '0', 'after the fetch: no loose copy of what a pack holds');
  t.equal(bob.count, '0', 'after the fetch: the fork keeps no loose copy of what its objstore now holds');
  t.ok(fsckOk(path.join(mirror, 'users/bob/linux.git')).ok && fsckOk(mobst).ok);
});

t.test('addMember removes the temp file of a member-list write that was killed', async (t) => {
  const dir = tmpDir(t);
  const store = path.join(dir, 'objstore', 'fg.git');
  const repo = path.join(dir, 'a.git');
  makeRepo(repo);
  const g = new Git();
  t.ok(await createObjstore(g, store));
  const leftover = path.join(store, '.grokmirror.objstore.0123456789ab.tmp');
  writeFileSync(leftover, '# half a list');
  const other = path.join(store, '.grokmirror.objstore.notours.tmp');
  writeFileSync(other, 'not one of ours');
  await addMember(g, store, repo);
  t.notOk(existsSync(leftover), 'the killed write\'s temp file is gone');
  t.ok(existsSync(other), 'a file that does not have our temp name stays');
  t.same(await readMembers(store), [repo], 'the member list is complete');
  t.ok(fsckOk(store).ok);
});

t.test('borrowFrom removes the temp file of an alternates write that was killed', async (t) => {
  const dir = tmpDir(t);
  const store = path.join(dir, 'objstore', 'fg.git');
  const repo = path.join(dir, 'a.git');
  makeRepo(repo);
  const g = new Git();
  t.ok(await createObjstore(g, store));
  await addMember(g, store, repo);
  await fetchMember(g, store, repo);
  const leftover = path.join(repo, 'objects', 'info', '.alternates.0123456789ab.tmp');
  writeFileSync(leftover, 'half a line');
  await borrowFrom(repo, store);
  t.notOk(existsSync(leftover), 'the killed write\'s temp file is gone');
  t.equal(readFileSync(path.join(repo, 'objects', 'info', 'alternates'), 'utf8'), `${path.join(store, 'objects')}\n`);
  t.ok(fsckOk(repo).ok && fsckOk(store).ok);
});

t.test('a pass cut short between a fork\'s fetch and its objstore step: the next pass brings the objstore up, and removes the record\'s temp file', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  const up = path.join(top, 'linux.git');
  makeRepo(up, { commits: 5 });
  const forks = ['alice', 'bob'].map((u) => path.join(top, `users/${u}/linux.git`));
  for (const f of forks) {
    git(['clone', '-q', '--bare', up, f]);
    pushCommit(f, { branch: `${path.basename(path.dirname(f))}-work` });
  }
  const g = new Git();
  const obst = path.join(top, 'objstore', 'net1.git');
  await createObjstore(g, obst);
  for (const r of [up, ...forks]) {
    await addMember(g, obst, r);
    await fetchMember(g, obst, r);
    await borrowFrom(r, obst);
  }
  await runM(top, path.join(top, 'manifest.js.gz'));
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  const config = replicaConfig(mirror, origin.url);
  t.same((await pull(config)).failed, []);
  const mobst = path.join(mirror, 'objstore', 'net1.git');
  const bob = path.join(mirror, 'users/bob/linux.git');
  const v = virtrefFor(bob);
  const record = path.join(mobst, `grokmirror.${v}.fingerprint`);
  const temp = path.join(mobst, `.grokmirror.${v}.fingerprint.0123456789ab.tmp`);
  const localManifest = path.join(mirror, 'manifest.js.gz');
  // What a kill leaves: the fork's own work done, its objstore step not (the record's write cut short),
  // and neither the local manifest's entry nor the remote manifest's state recorded.
  const cutShort = (entry: (e: Record<string, unknown>) => Record<string, unknown> | null, storeRecord: string | null) => {
    const m = JSON.parse(gunzipSync(readFileSync(localManifest)).toString('utf8')) as Record<string, Record<string, unknown>>;
    const e = entry(m['/users/bob/linux.git']!);
    if (e === null) delete m['/users/bob/linux.git'];
    else m['/users/bob/linux.git'] = e;
    writeFileSync(localManifest, gzipSync(JSON.stringify(m)));
    rmSync(path.join(mirror, '.manifest.js.gz.remote'), { force: true });
    if (storeRecord === null) rmSync(record);
    else writeFileSync(record, storeRecord);
    writeFileSync(temp, 'half a rec');
  };
  const fingerprintOfBob = () => readFileSync(path.join(bob, 'grokmirror.fingerprint'), 'utf8');

  // 1. killed while joining after the clone: no record at all
  cutShort(() => null, null);
  let res = await pull(config);
  t.same(res.failed, [], 'the next pass works');
  t.notOk(existsSync(temp), 'the record\'s temp file is gone');
  t.equal(readFileSync(record, 'utf8'), fingerprintOfBob(), 'the objstore records the fork as it is');
  t.equal(git([`--git-dir=${mobst}`, 'rev-parse', `refs/virtual/${v}/heads/bob-work`]), git([`--git-dir=${bob}`, 'rev-parse', 'refs/heads/bob-work']), 'the objstore has the fork\'s branch');

  // 2. killed while feeding the objstore after a fetch: an older record
  const sha = pushCommit(forks[1]!, { branch: 'feature' });
  await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/users/bob/linux.git'] } });
  const old = readFileSync(record, 'utf8');
  t.same((await pull(config)).updated, ['/users/bob/linux.git']);
  t.not(readFileSync(record, 'utf8'), old, 'the push was fed to the objstore');
  git([`--git-dir=${mobst}`, 'update-ref', '-d', `refs/virtual/${v}/heads/feature`]);
  cutShort((e) => ({ ...e, fingerprint: old }), old);
  // and one from a pass killed while it joined this fork to a new objstore, as the sibling that seeds it
  const altTemp = path.join(bob, 'objects', 'info', '.alternates.0123456789ab.tmp');
  writeFileSync(altTemp, 'half a line');
  res = await pull(config);
  t.notOk(existsSync(altTemp), 'the alternates\' temp file is gone');
  t.same(res.failed, [], 'the next pass works');
  t.notOk(existsSync(temp), 'the record\'s temp file is gone');
  t.equal(readFileSync(record, 'utf8'), fingerprintOfBob(), 'the objstore records the fork as it is');
  t.equal(git([`--git-dir=${mobst}`, 'rev-parse', `refs/virtual/${v}/heads/feature`]), sha, 'the objstore has the new branch');
  for (const r of [bob, path.join(mirror, 'users/alice/linux.git'), mobst]) t.ok(fsckOk(r).ok, `${path.relative(mirror, r)}: git fsck`);
});
