/**
 * Objects from the whole collection, the cases around the happy path (small repositories, file://
 * URLs): a stale tip-index row (mirror gone, or tips gone from it) costs a plain clone, never a failed
 * one; a mirror killed after its clone's rename and before joining its objstore joins it at its next
 * visit; without --collection no objstore is made.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { runList } from '../../../replica/dumb/run-list.js';
import { openSqliteTipIndex } from '../../../replica/dumb/tip-index.js';
import { Git } from '../../../shared/git/index.js';
import { silentLogger } from '../../../shared/log.js';
import { isMember, leaveStore, readMembers, virtrefFor } from '../../../shared/objstore/index.js';
import { fsck, fsckConfig } from '../../helpers/fsck.js';
import { fsckOk, git, gitDir, makeRepo, pushCommit } from '../../helpers/git.js';
import { tmpDir } from '../../helpers/tmp.js';

function upstreams(dir: string, n: number): string[] {
  const up = path.join(dir, 'up');
  makeRepo(path.join(up, 'upstream.git'), { commits: 5 });
  gitDir(path.join(up, 'upstream.git'), ['tag', 'v1', 'master']);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = path.join(up, `fork${i}.git`);
    git(['clone', '-q', '--bare', '--no-local', path.join(up, 'upstream.git'), f]);
    pushCommit(f, { message: `fork ${i}`, date: 1_700_000_000 + i });
    out.push(f);
  }
  return out;
}

async function sweep(dir: string, repos: readonly string[], collection = true): Promise<{ top: string; state: string }> {
  const top = path.join(dir, 'mirror');
  const list = path.join(dir, 'urls.txt');
  const state = path.join(dir, 'state.sqlite');
  mkdirSync(top, { recursive: true });
  writeFileSync(list, repos.map((r) => `file://${r}`).join('\n') + '\n');
  await runList(
    {
      listFile: list, toplevel: top, stateFile: state, legacyStateFile: null, manifestFile: null, jobs: 4, perHost: 4, attempts: 1, backoffMs: 0,
      lsRemoteTimeoutMs: 60_000, postUpdateHook: [], detect: true, allowFile: true, refProbe: 'git', checkpointMs: 60_000,
      schedule: { firstMs: 3_600_000, maxMs: 86_400_000 }, all: true, objstoreDir: collection ? path.join(top, 'objstore') : null,
    },
    { git: new Git(), log: silentLogger(), now: Date.now, sleep: async () => {} },
  );
  return { top, state };
}

// Joins take the objstore's lock one at a time: minutes on a loaded 2-core machine, past tap's 600 s default.
t.setTimeout(1_800_000);

const mirrorOf = (top: string, repo: string) => path.join(top, 'file', repo);
const storesOf = (top: string) => (existsSync(path.join(top, 'objstore')) ? readdirSync(path.join(top, 'objstore')).filter((n) => n.endsWith('.git') && !n.startsWith('.')) : []);
const tipsIn = (repo: string) => gitDir(repo, ['for-each-ref', '--format=%(objectname)', 'refs/heads/', 'refs/tags/']).split('\n');

t.test('forks join one objstore; grok-fsck has nothing to regroup', async (t) => {
  const dir = tmpDir(t);
  const forks = upstreams(dir, 3);
  const { top } = await sweep(dir, forks);
  const stores = storesOf(top);
  t.equal(stores.length, 1, 'one objstore');
  const store = path.join(top, 'objstore', stores[0]!);
  t.same((await readMembers(store)).sort(), forks.map((f) => mirrorOf(top, f)).sort(), 'all three are members');
  for (const f of forks) t.ok(fsckOk(mirrorOf(top, f)).ok, `${path.basename(f)} fsck clean`);
  const res = await fsck(fsckConfig(top, '', `objstore = ${path.join(top, 'objstore')}`));
  t.same((res.objstoreNotes ?? []).filter((n) => /joined|new objstore|merged|moved|left|removed objstore/.test(n)), [], 'nothing to regroup');
});

t.test('without --collection: no objstore, no alternates', async (t) => {
  const dir = tmpDir(t);
  const forks = upstreams(dir, 2);
  const { top } = await sweep(dir, forks, false);
  t.same(storesOf(top), []);
  for (const f of forks) t.notOk(existsSync(path.join(mirrorOf(top, f), 'objects/info/alternates')), `${path.basename(f)} stands alone`);
});

t.test('a stale row (the mirror gone) costs a plain clone and is forgotten', async (t) => {
  const dir = tmpDir(t);
  const [fork] = upstreams(dir, 1);
  const state = path.join(dir, 'state.sqlite');
  const index = openSqliteTipIndex(state);
  const gone = path.join(dir, 'mirror', 'file', 'gone.git');
  await index.record(gone, tipsIn(fork!));
  index.close();
  const { top } = await sweep(dir, [fork!]);
  const m = mirrorOf(top, fork!);
  t.ok(fsckOk(m).ok, 'cloned, fsck clean');
  t.notOk(existsSync(path.join(m, 'objects/info/alternates')), 'a plain clone');
  t.same(storesOf(top), [], 'no objstore made');
  const again = openSqliteTipIndex(state);
  t.equal(await again.lookup(tipsIn(fork!)), m, 'the gone mirror forgotten; the new one recorded');
  again.close();
});

t.test('a stale row (its tips gone from the mirror) costs a plain clone and is corrected', async (t) => {
  const dir = tmpDir(t);
  const [fork] = upstreams(dir, 1);
  const state = path.join(dir, 'state.sqlite');
  const other = path.join(dir, 'mirror', 'file', 'other.git');
  makeRepo(other, { commits: 1, file: 'other.txt' });
  const index = openSqliteTipIndex(state);
  await index.record(other, tipsIn(fork!));
  index.close();
  const { top } = await sweep(dir, [fork!]);
  const m = mirrorOf(top, fork!);
  t.ok(fsckOk(m).ok, 'cloned, fsck clean');
  t.notOk(existsSync(path.join(m, 'objects/info/alternates')), 'a plain clone');
  t.notOk(existsSync(path.join(other, 'objects/info/alternates')), 'the unrelated mirror left alone');
  const again = openSqliteTipIndex(state);
  t.equal(await again.lookup(tipsIn(other)), other, 'the other mirror recorded with its own tips');
  t.equal(await again.lookup(tipsIn(fork!)), m);
  again.close();
});

t.test('killed after the rename, before joining: the next visit makes it a member', async (t) => {
  const dir = tmpDir(t);
  const forks = upstreams(dir, 2);
  const { top, state } = await sweep(dir, forks);
  const store = path.join(top, 'objstore', storesOf(top)[0]!);
  const m = mirrorOf(top, forks[1]!);
  // What a kill between the rename and the join leaves: borrowing from the objstore, not its member,
  // and its row without the digest of what it holds (rows are written after the URL's work).
  await leaveStore(new Git(), store, virtrefFor(m), m, false);
  const db = new Database(state);
  db.prepare('UPDATE dumb_urls SET digest = NULL, state = ? WHERE key LIKE ?').run('pending', `%fork1.git`);
  db.close();
  t.notOk(await isMember(new Git(), store, m), 'not a member');
  t.ok(fsckOk(m).ok, 'safe meanwhile: it holds what the objstore lacks');
  await sweep(dir, forks);
  t.ok(await isMember(new Git(), store, m), 'a member again');
  t.ok(fsckOk(m).ok, 'fsck clean');
  const res = await fsck(fsckConfig(top, '', `objstore = ${path.join(top, 'objstore')}`));
  t.same((res.objstoreNotes ?? []).filter((n) => /joined|new objstore|merged|moved|left|removed objstore/.test(n)), [], 'nothing to regroup');
});

t.test('a mirror in no objstore whose new tips another holds joins that one\'s objstore before its fetch', async (t) => {
  const dir = tmpDir(t);
  const forks = upstreams(dir, 2);
  const { top } = await sweep(dir, forks, false);
  t.same(storesOf(top), [], 'two standalone mirrors');
  const next = pushCommit(forks[0]!, { branch: 'next', message: 'shared later' });
  await sweep(dir, forks);
  t.same(storesOf(top), [], 'fork0 fetched its new branch alone: nobody held it');
  gitDir(forks[1]!, ['fetch', '-q', forks[0]!, 'refs/heads/next:refs/heads/next']);
  await sweep(dir, forks);
  const stores = storesOf(top);
  t.equal(stores.length, 1, 'an objstore made from fork0');
  const store = path.join(top, 'objstore', stores[0]!);
  t.same((await readMembers(store)).sort(), forks.map((f) => mirrorOf(top, f)).sort(), 'both are members');
  t.equal(gitDir(mirrorOf(top, forks[1]!), ['rev-parse', 'refs/heads/next']), next, 'fork1 fetched the branch');
  for (const f of forks) t.ok(fsckOk(mirrorOf(top, f)).ok, `${path.basename(f)} fsck clean`);
  const res = await fsck(fsckConfig(top, '', `objstore = ${path.join(top, 'objstore')}`));
  t.same((res.objstoreNotes ?? []).filter((n) => /joined|new objstore|merged|moved|left|removed objstore/.test(n)), [], 'nothing to regroup');
});
