import t from 'tap';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fsckOk, gitDir, git } from '../../helpers/git.js';
import { makeForkNetwork, hasObject, refsOf } from '../../helpers/fork-network.js';
import { fsck, fsckConfig } from '../../helpers/fsck.js';
import { runM, readM } from '../../helpers/manifest.js';
import { tmpDir } from '../../helpers/tmp.js';

const storesIn = (top: string) => readdirSync(path.join(top, 'objstore')).filter((n) => n.endsWith('.git') && !n.startsWith('.'));
const alternatesOf = (repo: string) => (existsSync(path.join(repo, 'objects/info/alternates')) ? readFileSync(path.join(repo, 'objects/info/alternates'), 'utf8').trim() : null);

t.test('a fork network goes into one objstore, loses nothing, and a second run does nothing', async (t) => {
  const top = tmpDir(t, 'grok-fsck-');
  const net = makeForkNetwork(top);
  await runM(top, path.join(top, 'manifest.js.gz'));
  const before = new Map(net.all.map((r) => [r, refsOf(r)]));
  const config = fsckConfig(top);

  const first = await fsck(config, { force: true });
  t.equal(first.status, 'done');
  t.same(first.errors, [], 'no fsck errors');
  const stores = storesIn(top);
  t.same(stores, ['store-1.git'], 'one objstore for the network (the lone repository has none)');
  const store = path.join(top, 'objstore', stores[0]!);
  const family = net.all.filter((r) => r !== net.lone);
  for (const r of family) t.equal(alternatesOf(r), path.join(store, 'objects'), `${path.relative(top, r)} borrows from the objstore`);
  t.equal(alternatesOf(net.lone), null, 'the unrelated repository stays alone');

  const remotes = gitDir(store, ['config', '--get-regexp', '^remote\\..*\\.url$']).split('\n').map((l) => l.split(' ')[1]).sort();
  t.same(remotes, family.filter((r) => r !== net.privateFork).sort(), 'every public member is a remote, the private fork is not');
  t.notOk(hasObject(store, net.secretBlob), 'the private blob is in no objstore');
  t.ok(hasObject(net.privateFork, net.secretBlob), 'the private fork still has it');
  t.equal(gitDir(store, ['config', 'extensions.preciousObjects']), 'true', 'preciousObjects is back on after the repack');
  const marker = readFileSync(path.join(store, 'grokmirror.objstore'), 'utf8');
  t.match(marker, /^# WARNING/, 'marker file keeps its preamble');

  for (const r of net.all) {
    t.equal(refsOf(r), before.get(r), `${path.relative(top, r)}: every ref unchanged`);
    t.ok(fsckOk(r).ok, `${path.relative(top, r)}: git fsck`);
    for (const line of refsOf(r).split('\n')) t.ok(hasObject(r, line.split(' ')[0]!), `${path.relative(top, r)} resolves ${line.split(' ')[1]}`);
  }
  t.ok(fsckOk(store).ok, 'objstore passes git fsck');
  const packsOf = (r: string) => readdirSync(path.join(r, 'objects/pack')).filter((n) => n.endsWith('.pack'));
  const fork = net.forks[4]!;
  const own = gitDir(fork, ['count-objects', '-v']);
  t.match(own, /in-pack: [0-9]\n/, 'a slimmed fork keeps only a handful of objects of its own');
  t.ok(packsOf(store).length >= 1);

  const m = await readM(path.join(top, 'manifest.js.gz'));
  const keyOf = (r: string) => `/${path.relative(top, r)}`;
  t.equal(m[keyOf(net.upstream)]!.forkgroup, 'store-1', 'manifest entries carry the forkgroup');
  const refs = new Set(family.map((r) => m[keyOf(r)]!.reference));
  t.equal(refs.size, 2, 'reference: the first member for all but itself (null)');
  t.ok(refs.has(null));

  // A second run with nothing new does nothing.
  const objstoreRefs = refsOf(store);
  const second = await fsck(config);
  t.same(second.objstoreNotes, [], 'no objstore work');
  t.same(second.repacked, [], 'nothing repacked');
  t.same(second.checked, [], 'nothing checked (next checks are days away)');
  t.equal(refsOf(store), objstoreRefs);

  // A deleted fork, a force-pushed fork: the objstore forgets them and their objects go with the
  // next full repack, although a private fork borrows from the objstore: it first takes whatever it
  // needs that the objstore's refs do not keep.
  // The private fork takes the doomed fork's branch; the objects are already in the objstore, so the
  // fetch copies nothing: the private fork now depends on objects only the doomed fork's refs keep.
  gitDir(net.privateFork, ['fetch', '-q', net.doomed, 'refs/heads/doomed:refs/heads/from-doomed']);
  t.notOk(existsSync(path.join(net.privateFork, 'objects', net.doomedCommit.slice(0, 2), net.doomedCommit.slice(2))), 'not copied by the fetch (loose)');
  const privateRefsBefore = refsOf(net.privateFork);
  rmSync(net.doomed, { recursive: true });
  const work = `${net.forced}.work`;
  git(['clone', '-q', net.forced, work]);
  git(['push', '-q', '--force', 'origin', 'master:refs/heads/wip'], { cwd: work });
  rmSync(work, { recursive: true });
  const third = await fsck(config, { repackAll: 'full' });
  t.same(third.errors, []);
  t.match(third.objstoreNotes!.join('\n'), /doomed\.git left \(gone\)/);
  t.notMatch(gitDir(store, ['for-each-ref', '--format=%(refname)']), /heads\/doomed/, 'the deleted fork has no refs left');
  t.notOk(hasObject(store, net.doomedCommit), "the deleted fork's objects are gone");
  t.notOk(hasObject(store, net.forcedCommit), "the force-pushed fork's old commit is gone");
  t.notOk(hasObject(store, net.secretBlob), 'the private blob is still in no objstore');
  t.equal(refsOf(net.privateFork), privateRefsBefore);
  t.ok(hasObject(net.privateFork, net.doomedCommit), 'the private fork kept what it needed, in a pack of its own');
  for (const r of net.all.filter((x) => existsSync(x))) {
    t.ok(fsckOk(r).ok, `${path.relative(top, r)}: git fsck after pruning`);
    if (r !== net.forced && r !== net.privateFork) t.equal(refsOf(r), before.get(r), `${path.relative(top, r)}: refs unchanged`);
  }
  t.ok(fsckOk(store).ok);
});
