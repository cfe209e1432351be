/**
 * grok-fsck on fork networks: members keep no copy of what their objstore holds, the whole network
 * sits within 1.3x of the floor (one repository holding every object, packed), forks made with
 * `git clone --bare -s` are adopted, and a failure to create an objstore is one failure, not the end
 * of the run.
 */
import t from 'tap';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fsckOk, gitDir } from '../../helpers/git.js';
import { bytesUnder, floorBytes, makePushedForkNetwork, refsOf } from '../../helpers/fork-network.js';
import { fsck, fsckConfig } from '../../helpers/fsck.js';
import { tmpDir } from '../../helpers/tmp.js';

const storesIn = (top: string) => readdirSync(path.join(top, 'objstore')).filter((n) => n.endsWith('.git') && !n.startsWith('.'));
const countObjects = (repo: string) => Object.fromEntries(gitDir(repo, ['count-objects', '-v']).split('\n').map((l) => l.split(': ') as [string, string]));

t.test('an upstream and 12 forks whose own commits arrived by push: no copies, within 1.3x of the floor', async (t) => {
  const base = tmpDir(t, 'grok-fsck-net-');
  const top = path.join(base, 'top');
  const net = makePushedForkNetwork(top, { forks: 12 });
  const all = [net.upstream, ...net.forks];
  const before = new Map(all.map((r) => [r, refsOf(r)]));
  t.not(countObjects(net.forks[0]!).count, '0', 'a fork holds its pushed commits loose before');
  const floor = floorBytes(all, path.join(base, 'floor.git'));

  const r = await fsck(fsckConfig(top), { force: true });
  t.same(r.errors, []);
  const stores = storesIn(top);
  t.equal(stores.length, 1, 'one objstore');
  const store = path.join(top, 'objstore', stores[0]!);
  for (const m of all) {
    const c = countObjects(m);
    t.equal(c['prune-packable'], '0', `${path.basename(m)}: prune-packable 0`);
    t.equal(c.count, '0', `${path.basename(m)}: no loose objects left (the objstore holds them all)`);
    t.equal(refsOf(m), before.get(m));
    t.ok(fsckOk(m).ok, `${path.basename(m)}: git fsck`);
  }
  const ours = bytesUnder(path.join(store, 'objects')) + all.reduce((n, m) => n + bytesUnder(path.join(m, 'objects')), 0);
  t.ok(ours <= 1.3 * floor, `objects/ total ${ours} bytes, ${(ours / floor).toFixed(2)}x the floor (${floor} bytes)`);
  t.ok(fsckOk(store).ok, 'objstore: git fsck');
});

t.test('forks made with clone -s are adopted: the objstore gets everything, then the old line goes', async (t) => {
  const top = tmpDir(t, 'grok-fsck-adopt-');
  const net = makePushedForkNetwork(top, { forks: 4, commits: 8, shared: true });
  const all = [net.upstream, ...net.forks];
  const before = new Map(all.map((r) => [r, refsOf(r)]));
  const config = fsckConfig(top);
  const r = await fsck(config, { force: true });
  t.same(r.errors, []);
  const stores = storesIn(top);
  t.equal(stores.length, 1, 'one objstore for the network');
  const store = path.join(top, 'objstore', stores[0]!);
  t.match(r.objstoreNotes!.join('\n'), /new objstore \S+ with 4 of 4 repositories \(4 moved their borrowing from a sibling to it\)/);
  for (const m of all) {
    t.equal(readFileSync(path.join(m, 'objects/info/alternates'), 'utf8'), `${path.join(store, 'objects')}\n`, `${path.basename(m)} borrows from the objstore alone`);
    t.equal(countObjects(m)['prune-packable'], '0');
    t.equal(refsOf(m), before.get(m));
    t.ok(fsckOk(m).ok, `${path.basename(m)}: git fsck`);
  }
  const remotes = gitDir(store, ['config', '--get-regexp', '^remote\\..*\\.url$']).split('\n').map((l) => l.split(' ')[1]).sort();
  t.same(remotes, [...all].sort(), 'the upstream joined too, once nothing borrowed from it');
  t.ok(fsckOk(store).ok);
  const second = await fsck(config);
  t.same(second.objstoreNotes, [], 'a second run has nothing to do');
});

t.test('an objstore that cannot be created is one failure; the run goes on', async (t) => {
  const top = tmpDir(t, 'grok-fsck-createfail-');
  const net = makePushedForkNetwork(top, { forks: 2, commits: 4 });
  // [core] objstore is a file: no objstore can be made there.
  writeFileSync(path.join(top, 'objstore'), 'not a directory\n');
  const r = await fsck(fsckConfig(top), { force: true });
  t.equal(r.status, 'done', 'the run finishes');
  const failed = r.errors.filter((e) => e.repo.startsWith(path.join(top, 'objstore')));
  t.equal(failed.length, 1, 'the creation is reported as a failure of that objstore');
  t.ok(r.checked.length >= 3, `the repositories were still checked (${r.checked.length})`);
  for (const m of [net.upstream, ...net.forks]) t.ok(fsckOk(m).ok);
});
