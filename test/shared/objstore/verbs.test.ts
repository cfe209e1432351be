/**
 * Each objstore verb on real repositories, ending in `git fsck` of everything it touched.
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Git, type GitCommand, type GitResult } from '../../../shared/git/index.js';
import { acquireLock, lockPathFor } from '../../../shared/lock.js';
import {
  adoptAlternates,
  cleanObjstoreDir,
  createObjstore,
  currentFingerprint,
  feedObjstore,
  joinStore,
  leaveStore,
  mergeStore,
  readMembers,
  readStoreFingerprint,
  refreshMember,
  removeCreateLeftovers,
  removeStore,
  storeRemotes,
  underLocks,
  virtrefFor,
} from '../../../shared/objstore/index.js';
import { fsckOk, git, gitDir, makeRepo, pushCommit } from '../../helpers/git.js';
import { hasObject, refsOf } from '../../helpers/fork-network.js';
import { tmpDir } from '../../helpers/tmp.js';

const g = new Git();

/** `git count-objects -v` as numbers. */
function counts(repo: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of gitDir(repo, ['count-objects', '-v']).split('\n')) {
    const [k, v] = l.split(': ');
    out[k!] = Number(v);
  }
  return out;
}

const alternates = (repo: string) => readFileSync(path.join(repo, 'objects/info/alternates'), 'utf8');

/** An upstream and a fork of it (a full copy) with a commit of its own, pushed (so loose). */
function family(top: string): { up: string; fork: string; own: string } {
  const up = path.join(top, 'up.git');
  makeRepo(up, { commits: 5 });
  const fork = path.join(top, 'fork.git');
  git(['clone', '-q', '--bare', '--no-local', up, fork]);
  const own = pushCommit(fork, { branch: 'mine' });
  return { up, fork, own };
}

function allPass(t: Test, repos: readonly string[]): void {
  for (const r of repos) {
    const f = fsckOk(r);
    t.ok(f.ok, `${path.basename(r)}: git fsck`, { output: f.output });
  }
}

t.test('create: built aside, grokmirror settings, marker; a second create is a no-op; leftovers go', async (t) => {
  const top = tmpDir(t, 'objstore-create-');
  const store = path.join(top, 'objstore', 'net.git');
  t.equal(await createObjstore(g, store), true);
  t.equal(await createObjstore(g, store), false, 'already there');
  t.equal(gitDir(store, ['config', 'extensions.preciousObjects']), 'true');
  t.equal(gitDir(store, ['config', 'pack.island']), 'refs/virtual/([0-9a-f]+)/');
  t.match(readFileSync(path.join(store, 'grokmirror.objstore'), 'utf8'), /^# WARNING/);
  mkdirSync(path.join(top, 'objstore', `.net.git.grok-new-0123abcd`));
  t.same(await removeCreateLeftovers(store), ['.net.git.grok-new-0123abcd'], 'a killed creation is cleaned up');
  t.same(readdirSync(path.join(top, 'objstore')).sort(), ['net.git']);
  allPass(t, [store]);
});

t.test('join: objects in first, then alternates, then the member keeps nothing the objstore has', async (t) => {
  const top = tmpDir(t, 'objstore-join-');
  const { up, fork, own } = family(top);
  const refs = refsOf(fork);
  const store = path.join(top, 'objstore', 'net.git');
  await createObjstore(g, store);
  await joinStore(g, store, up, { isPrivate: false, plumbing: false });
  t.ok(counts(fork).count! > 0, 'the fork holds its pushed commit loose');
  await joinStore(g, store, fork, { isPrivate: false, plumbing: false });
  t.equal(alternates(fork), `${path.join(store, 'objects')}\n`);
  t.ok(hasObject(store, own), 'the objstore has the fork\'s own commit');
  t.same(await readMembers(store), [fork, up].sort());
  t.equal(await readStoreFingerprint(store, virtrefFor(fork)), await currentFingerprint(g, fork), 'what was fetched is recorded');
  const c = counts(fork);
  t.equal(c['prune-packable'], 0, 'no loose copy of what a pack holds');
  t.equal(c.count, 0, 'no loose objects at all: the objstore holds them all');
  t.equal(c['in-pack'], 0, 'nothing of its own: the objstore has every object');
  t.equal(refsOf(fork), refs);
  // A private repository borrows but gives nothing.
  const priv = path.join(top, 'private.git');
  git(['clone', '-q', '--bare', '--no-local', up, priv]);
  const secret = pushCommit(priv, { branch: 'secret' });
  await joinStore(g, store, priv, { isPrivate: true, plumbing: false });
  t.notOk(hasObject(store, secret), 'a private member\'s objects stay out');
  t.ok(hasObject(priv, secret));
  allPass(t, [up, fork, priv, store]);
});

t.test('join (plumbing): hardlinks and refs by update-ref', async (t) => {
  const top = tmpDir(t, 'objstore-join-plumbing-');
  const { up, fork, own } = family(top);
  const store = path.join(top, 'objstore', 'net.git');
  await createObjstore(g, store);
  for (const r of [up, fork]) await joinStore(g, store, r, { isPrivate: false, plumbing: true });
  t.ok(hasObject(store, own));
  t.match(gitDir(store, ['for-each-ref', '--format=%(refname)']), new RegExp(`refs/virtual/${virtrefFor(fork)}/heads/mine`));
  t.equal(counts(fork)['prune-packable'], 0);
  allPass(t, [up, fork, store]);
});

t.test('refresh: a member\'s new objects reach the objstore as a pack, and the member drops its loose copies', async (t) => {
  const top = tmpDir(t, 'objstore-refresh-');
  const { up, fork } = family(top);
  const store = path.join(top, 'objstore', 'net.git');
  await createObjstore(g, store);
  for (const r of [up, fork]) await joinStore(g, store, r, { isPrivate: false, plumbing: false });
  t.equal(await refreshMember(g, store, fork), false, 'nothing new: no fetch');
  const next = pushCommit(fork, { branch: 'next', message: 'next' });
  t.ok(counts(fork).count! >= 3, 'the push left loose objects');
  t.equal(await feedObjstore(g, store, fork), 'fed');
  t.ok(hasObject(store, next));
  const c = counts(fork);
  t.equal(c.count, 0, 'no loose copy left in the member');
  t.equal(c['prune-packable'], 0);
  t.equal(counts(store).count, 0, 'the objstore got a pack, not loose objects');
  t.equal(await readStoreFingerprint(store, virtrefFor(fork)), await currentFingerprint(g, fork));
  t.equal(await refreshMember(g, store, fork), false, 'recorded: no second fetch');
  const lone = path.join(top, 'lone.git');
  makeRepo(lone);
  t.equal(await feedObjstore(g, store, lone), 'not-a-member');
  const held = await acquireLock(lockPathFor(store));
  pushCommit(fork, { branch: 'busy', message: 'while busy' });
  t.equal(await feedObjstore(g, store, fork), 'busy', 'objstore locked elsewhere: busy, not failed');
  await held.release();
  allPass(t, [up, fork, store]);
});

t.test('leave: the member takes its objects back before its alternates go; the objstore forgets it', async (t) => {
  const top = tmpDir(t, 'objstore-leave-');
  const { up, fork, own } = family(top);
  const store = path.join(top, 'objstore', 'net.git');
  await createObjstore(g, store);
  for (const r of [up, fork]) await joinStore(g, store, r, { isPrivate: false, plumbing: false });
  const v = virtrefFor(fork);
  await leaveStore(g, store, v, fork, true);
  t.notOk(existsSync(path.join(fork, 'objects/info/alternates')), 'borrows no more');
  t.ok(hasObject(fork, own));
  t.notOk((await storeRemotes(g, store)).has(v), 'remote gone');
  t.equal(gitDir(store, ['for-each-ref', `refs/virtual/${v}/`]), '', 'refs gone');
  t.equal(await readStoreFingerprint(store, v), null, 'record gone');
  t.same(await readMembers(store), [up]);
  allPass(t, [up, fork, store]);
});

t.test('merge: every object, ref and member of one objstore goes to the other before users move', async (t) => {
  const top = tmpDir(t, 'objstore-merge-');
  const { up, fork, own } = family(top);
  const a = path.join(top, 'objstore', 'a.git');
  const b = path.join(top, 'objstore', 'b.git');
  await createObjstore(g, a);
  await createObjstore(g, b);
  await joinStore(g, a, up, { isPrivate: false, plumbing: false });
  await joinStore(g, b, fork, { isPrivate: false, plumbing: false });
  await mergeStore(g, b, a, [fork]);
  await removeStore(b);
  t.notOk(existsSync(b));
  t.equal(alternates(fork), `${path.join(a, 'objects')}\n`);
  t.ok(hasObject(a, own));
  t.same([...(await storeRemotes(g, a)).values()].sort(), [fork, up].sort());
  t.ok(await readStoreFingerprint(a, virtrefFor(fork)), 'its fingerprint record came along');
  allPass(t, [up, fork, a]);
});

t.test('remove: renamed aside then deleted; leftovers of interrupted removals and creations go', async (t) => {
  const top = tmpDir(t, 'objstore-remove-');
  const dir = path.join(top, 'objstore');
  const keep = path.join(dir, 'keep.git');
  await createObjstore(g, keep);
  await createObjstore(g, path.join(dir, 'gone.git'));
  await removeStore(path.join(dir, 'gone.git'));
  mkdirSync(path.join(dir, '.x.git.grok-del-00ff00ff'));
  mkdirSync(path.join(dir, '.y.git.grok-new-00ff00ff'));
  t.same((await cleanObjstoreDir(dir)).sort(), ['.x.git.grok-del-00ff00ff', '.y.git.grok-new-00ff00ff']);
  t.same(readdirSync(dir), ['keep.git']);
  allPass(t, [keep]);
});

t.test('adopt-alternates: a `clone -s` fork moves its borrowing to the objstore, losing nothing', async (t) => {
  const top = tmpDir(t, 'objstore-adopt-');
  const up = path.join(top, 'up.git');
  makeRepo(up, { commits: 5 });
  const fork = path.join(top, 'fork.git');
  git(['clone', '-q', '--bare', '-s', up, fork]);
  const own = pushCommit(fork, { branch: 'mine' });
  const refs = refsOf(fork);
  const upRefs = refsOf(up);
  const store = path.join(top, 'objstore', 'net.git');
  await createObjstore(g, store);
  await adoptAlternates(g, store, fork);
  t.equal(alternates(fork), `${path.join(store, 'objects')}\n`, 'the old line is gone, the objstore\'s alone remains');
  t.ok(hasObject(store, own), 'the objstore has the fork\'s own objects');
  t.ok(hasObject(store, gitDir(up, ['rev-parse', 'master'])), 'and what it borrowed');
  t.equal(counts(fork)['prune-packable'], 0);
  t.equal(refsOf(fork), refs);
  t.equal(refsOf(up), upRefs, 'the lender is untouched');
  t.notOk(existsSync(path.join(up, 'objects/info/alternates')));
  allPass(t, [fork, up, store]);
  // The fork needs nothing of the lender any more: it may go.
  execFileSync('mv', [up, `${up}.gone`]);
  allPass(t, [fork]);
});

t.test('adopt-alternates: a push that lands after the final check began, naming what only the lender has, keeps the lender borrowed from', async (t) => {
  const top = tmpDir(t, 'objstore-adopt-race-');
  const up = path.join(top, 'up.git');
  makeRepo(up, { commits: 5 });
  const fork = path.join(top, 'fork.git');
  git(['clone', '-q', '--bare', '-s', up, fork]);
  pushCommit(fork, { branch: 'mine' });
  // A commit only the lender has: a push to the fork may name it without sending it (receive-pack
  // checks connectivity through the alternates the fork has at that moment).
  const lenderOnly = pushCommit(up, { branch: 'lender-only' });
  const store = path.join(top, 'objstore', 'net.git');
  await createObjstore(g, store);
  // An origin's pushes take no lock of ours: this one updates its ref while the fork is being slimmed.
  // receive-pack read the alternates when it started (the lender's line still there) and keeps them in
  // memory: its ref update no longer looks, so the ref file is written as it would write it.
  class PushDuringSlim extends Git {
    override async run(cmd: GitCommand): Promise<GitResult> {
      if (cmd.args[0] === 'repack' && cmd.gitDir === fork) writeFileSync(path.join(fork, 'refs', 'heads', 'pushed'), `${lenderOnly}\n`);
      return super.run(cmd);
    }
  }
  await t.rejects(adoptAlternates(new PushDuringSlim(), store, fork), 'the adoption does not finish');
  t.match(alternates(fork), path.join(up, 'objects'), 'the fork borrows from its lender again');
  t.equal(gitDir(fork, ['rev-parse', 'refs/heads/pushed']), lenderOnly, 'the pushed ref stands');
  allPass(t, [fork, up, store]);
  // The next run finishes it: the objstore then holds what the pushed ref reaches.
  await adoptAlternates(g, store, fork);
  t.equal(alternates(fork), `${path.join(store, 'objects')}\n`, 'adopted on the next run');
  t.ok(hasObject(store, lenderOnly), 'with the pushed commit in the objstore');
  allPass(t, [fork, up, store]);
});

t.test('underLocks: repository before objstore; busy is told from failed', async (t) => {
  const top = tmpDir(t, 'objstore-locks-');
  const repo = path.join(top, 'r.git');
  const store = path.join(top, 's.git');
  const order: string[] = [];
  const done = await underLocks({ stores: [store], repos: [repo] }, async () => {
    order.push('inside');
    return 7;
  });
  t.same(done, { status: 'done', value: 7 });
  const held = await acquireLock(lockPathFor(store));
  const busy = await underLocks({ repos: [repo], stores: [store] }, async () => order.push('never'));
  t.equal(busy.status, 'busy', 'inner lock held elsewhere: busy');
  await held.release();
  const failed = await underLocks({ repos: [repo] }, async () => {
    throw new Error('boom');
  });
  t.equal(failed.status, 'failed');
  t.match(String((failed as { error: unknown }).error), /boom/);
  t.same(order, ['inside']);
});
