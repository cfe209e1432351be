/**
 * Objects from the whole collection (issue 22 item 3): 100 forks of one upstream mirrored by
 * grok-dumb-pull list mode, against the same forks cloned each in full (without --collection) in the same
 * run. Bytes are every HTTP response of the upstream server (headers and bodies); disk is du of the
 * toplevel, objstore included. Then: every mirror git fsck clean and a member of the one objstore,
 * grok-fsck finds nothing to regroup, and an updated fork whose new commits another mirror already
 * brought fetches only what the collection lacks.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { readMembers } from '../../../shared/objstore/index.js';
import { fsck, fsckConfig } from '../../helpers/fsck.js';
import { fsckOk, git, gitDir, noise } from '../../helpers/git.js';
import { makeForkUpstreams, serveForks } from '../../helpers/dumb-forks.js';
import { tmpDir } from '../../helpers/tmp.js';

// Joins take the objstore's lock one at a time: minutes on a loaded 2-core machine, past tap's 600 s default.
t.setTimeout(1_800_000);

const FORKS = 100;

t.test('100 forks: 20x fewer bytes and 20x less disk than cloning each, fsck clean, nothing for grok-fsck to regroup', async (t) => {
  const dir = tmpDir(t, 'grok-collection-');
  const forks = await makeForkUpstreams(path.join(dir, 'up'), FORKS, { mb: 8, own: 2 });
  const served = await serveForks(forks);
  t.teardown(() => served.close());
  const top = path.join(dir, 'mirror');
  const floorTop = path.join(dir, 'floor');
  const coll = await served.sweep(top, true);
  const floor = await served.sweep(floorTop, false);
  t.equal(coll.result.counts.fetched, FORKS, 'every fork cloned with the collection');
  t.equal(floor.result.counts.fetched, FORKS, 'every fork cloned in full');
  const bytesX = floor.bytes / coll.bytes;
  const diskX = floor.diskKb / coll.diskKb;
  t.comment(`bytes: ${coll.bytes} against ${floor.bytes} (${bytesX.toFixed(1)}x); disk: ${coll.diskKb} KiB against ${floor.diskKb} KiB (${diskX.toFixed(1)}x)`);
  t.ok(bytesX >= 20, `at least 20x fewer bytes transferred (${bytesX.toFixed(1)}x)`);
  t.ok(diskX >= 20, `at least 20x less disk (${diskX.toFixed(1)}x)`);

  const stores = readdirSync(path.join(top, 'objstore')).filter((n) => n.endsWith('.git') && !n.startsWith('.'));
  t.equal(stores.length, 1, 'one objstore');
  const store = path.join(top, 'objstore', stores[0]!);
  const mirrors = forks.keys.map((k) => path.join(top, served.hostDir, k));
  t.same((await readMembers(store)).sort(), mirrors.slice().sort(), 'every mirror is a member of it');
  let clean = 0;
  for (const m of mirrors) {
    const alt = readFileSync(path.join(m, 'objects/info/alternates'), 'utf8').trim();
    if (fsckOk(m).ok && alt === path.join(store, 'objects')) clean++;
  }
  t.equal(clean, FORKS, 'every mirror borrows from the objstore alone and is git fsck clean');
  t.ok(fsckOk(store).ok, 'the objstore is git fsck clean');
  t.ok(readdirSync(path.join(top, served.hostDir, 'f')).every((n) => !n.includes('.grok-init')), 'no temp clone left');

  const before = readMembers(store);
  const res = await fsck(fsckConfig(top, '', `objstore = ${path.join(top, 'objstore')}`));
  const regroup = (res.objstoreNotes ?? []).filter((n) => /joined|new objstore|merged|moved|left|removed objstore/.test(n));
  t.same(regroup, [], 'grok-fsck finds nothing to regroup');
  t.same(await readMembers(store), await before, 'grok-fsck left the objstore as it was');
  t.same(res.errors, [], 'grok-fsck found no error');

  // An update: fork000 gets a 1 MB commit; fork001 gets the same commit one sweep later.
  const work = path.join(dir, 'update.work');
  git(['clone', '-q', path.join(forks.up, forks.keys[0]!), work]);
  writeFileSync(path.join(work, 'new.bin'), noise('update', 1024 * 1024));
  git(['add', '-A'], { cwd: work });
  git(['commit', '-q', '-m', 'update'], { cwd: work });
  git(['push', '-q', 'origin', 'HEAD:refs/heads/next'], { cwd: work });
  const first = await served.sweep(top, true);
  t.equal(first.result.counts.fetched, 1, 'fork000 fetched');
  await served.sweep(floorTop, false); // the floor catches up with fork000 too: its next sweep fetches fork001 alone
  gitDir(path.join(forks.up, forks.keys[1]!), ['fetch', '-q', path.join(forks.up, forks.keys[0]!), 'refs/heads/next:refs/heads/next']);
  const second = await served.sweep(top, true);
  const floorSecond = await served.sweep(floorTop, false);
  t.equal(second.result.counts.fetched, 1, 'fork001 fetched');
  t.comment(`update of fork001, its new commit already in the collection: ${second.bytes} bytes; cloned-alone floor ${floorSecond.bytes} bytes`);
  t.ok(first.bytes > 1024 * 1024, 'the first fork to bring the commit transfers it');
  t.equal(floorSecond.result.counts.fetched, 1, 'the floor fetched fork001 alone');
  t.ok(second.bytes * 5 < floorSecond.bytes, 'the second one transfers a fifth of what a mirror alone does, or less (about a tenth: its refs and negotiation)');
  const m1 = path.join(top, served.hostDir, forks.keys[1]!);
  t.ok(fsckOk(m1).ok, 'fork001 git fsck clean after its fetch');
  t.equal(gitDir(m1, ['rev-parse', 'refs/heads/next']), git(['rev-parse', 'HEAD'], { cwd: work }), 'fork001 has the new branch');
  const again = await fsck(fsckConfig(top, '', `objstore = ${path.join(top, 'objstore')}`));
  t.same((again.objstoreNotes ?? []).filter((n) => /joined|new objstore|merged|moved|left|removed objstore/.test(n)), [], 'grok-fsck still finds nothing to regroup');
});
