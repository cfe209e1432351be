import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { discard, emptyTrash, TRASH_DIR } from '../../replica/execute/trash.js';
import { discoverRepos } from '../../shared/repo/discover.js';
import { fsckOk, makeRepo } from '../helpers/git.js';
import { startTestOrigin } from '../helpers/origin.js';
import { pull, replicaConfig } from '../helpers/replica.js';
import { tmpDir } from '../helpers/tmp.js';

t.test('discard moves a repository into the trash and deletes it there; emptyTrash clears what a killed run left', async (t) => {
  const top = tmpDir(t);
  const repo = path.join(top, 'pub', 'a.git');
  makeRepo(repo);
  makeRepo(path.join(top, 'pub', 'b.git'));
  await discard(top, repo);
  t.notOk(existsSync(repo), 'gone from its place');
  t.same(readdirSync(path.join(top, TRASH_DIR)), [], 'and from the trash');
  t.ok(fsckOk(path.join(top, 'pub', 'b.git')).ok, 'its neighbour untouched');

  // What a pass killed during the delete leaves: a repository in the trash, under a work-in-progress name.
  const left = path.join(top, TRASH_DIR, '.c.git.grok-del-0badf00d');
  makeRepo(left);
  const found = await discoverRepos(top);
  t.same(found.repos.map((r) => r.key).sort(), ['/pub/b.git'], 'discovery never takes a trashed repository for one of the collection');
  t.same(await emptyTrash(top), ['.c.git.grok-del-0badf00d']);
  t.notOk(existsSync(left));
  t.same(await emptyTrash(path.join(top, 'nowhere')), [], 'no trash directory: nothing to do');
});

t.test('grok-pull: purges and reclones go through the trash, and a pass empties what a killed one left there', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'a.git'));
  makeRepo(path.join(top, 'b.git'));
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  mkdirSync(path.join(mirror, TRASH_DIR), { recursive: true });
  const left = path.join(mirror, TRASH_DIR, '.old.git.grok-del-0badf00d');
  makeRepo(left);
  const config = replicaConfig(mirror, origin.url, 'purge = yes\npurgeprotect = 60\n');
  t.same((await pull(config)).cloned.sort(), ['/a.git', '/b.git']);
  t.notOk(existsSync(left), 'the killed pass\'s leftover in the trash is gone');

  writeFileSync(path.join(mirror, 'a.git', 'grokmirror.reclone'), 'fsck found: missing blob\n');
  makeRepo(path.join(mirror, 'local-only.git'));
  const res = await pull(config, { force: true });
  t.same(res.cloned, ['/a.git'], 'a.git recloned');
  t.same(res.purged, ['/local-only.git'], 'local-only.git purged');
  t.notOk(existsSync(path.join(mirror, 'local-only.git')));
  t.same(readdirSync(path.join(mirror, TRASH_DIR)), [], 'the trash is empty after the pass');
  t.same(readdirSync(mirror).filter((n) => n.includes('.grok-')), [], 'no old copy left beside a.git');
  for (const r of ['a.git', 'b.git']) t.ok(fsckOk(path.join(mirror, r)).ok, `git fsck ${r}`);
});
