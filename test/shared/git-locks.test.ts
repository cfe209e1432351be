import t from 'tap';
import { utimesSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { clearStaleGitLocks } from '../../shared/repo/git-locks.js';
import { fsck, fsckConfig } from '../helpers/fsck.js';
import { fsckOk, makeRepo } from '../helpers/git.js';
import { tmpDir } from '../helpers/tmp.js';

t.test('git lock files left by a killed git: old ones go, young ones stay and the work waits', async (t) => {
  const top = tmpDir(t);
  const repo = path.join(top, 'r.git');
  makeRepo(repo, { commits: 2 });
  const locks = ['packed-refs.lock', 'objects/info/commit-graph.lock', 'refs/heads/master.lock'].map((f) => path.join(repo, f));
  mkdirSync(path.join(repo, 'objects/info'), { recursive: true });
  for (const l of locks) writeFileSync(l, '');
  const now = Date.now();
  t.same(clearStaleGitLocks(repo, now), [], 'young locks are left alone');
  // A young leftover: grok-fsck defers that repository instead of failing.
  const young = await fsck(fsckConfig(top), { repackAll: 'full' });
  t.same(young.errors, [], 'not a failure: left for the next run');
  const old = (now - 120_000) / 1000;
  for (const l of locks) utimesSync(l, old, old);
  const res = await fsck(fsckConfig(top), { repackAll: 'full' });
  t.same(res.errors, []);
  t.same(res.repacked, ['/r.git'], 'repacked once the stale locks were cleared');
  for (const l of locks) t.notOk(existsSync(l), `${path.basename(l)} removed`);
  t.ok(fsckOk(repo).ok);
});
