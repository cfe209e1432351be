import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { bundlePath, writePreloadBundle } from '../../../shared/fsck/bundle.js';
import { Git, type GitCommand, type GitResult } from '../../../shared/git/index.js';
import { addMember, createObjstore, fetchMember } from '../../../shared/objstore/index.js';
import { virtrefFor } from '../../../shared/objstore/virtref.js';
import { fsckOk, git, makeRepo, pushCommit } from '../../helpers/git.js';
import { tmpDir } from '../../helpers/tmp.js';

const refsOf = (repo: string) => git([`--git-dir=${repo}`, 'for-each-ref', '--format=%(objectname) %(refname)']);

/** An objstore holding two real sibling repositories, made with the code grok-fsck uses. */
async function objstoreOfTwo(dir: string): Promise<{ obst: string; members: string[] }> {
  const g = new Git();
  const up = path.join(dir, 'repos/linux.git');
  makeRepo(up, { commits: 5 });
  const fork = path.join(dir, 'repos/fork/linux.git');
  git(['clone', '-q', '--bare', up, fork]);
  pushCommit(fork, { branch: 'work' });
  const obst = path.join(dir, 'objstore', 'net1.git');
  await createObjstore(g, obst);
  for (const m of [up, fork]) {
    await addMember(g, obst, m);
    await fetchMember(g, obst, m);
  }
  return { obst, members: [up, fork] };
}

t.test('an objstore becomes a bundle that git verifies and clones from, refs/virtual/* and all', async (t) => {
  const dir = tmpDir(t);
  const { obst, members } = await objstoreOfTwo(dir);
  const outdir = path.join(dir, 'bundles');
  const res = await writePreloadBundle(new Git(), obst, 'net1', outdir);
  t.same(res, { status: 'written', path: bundlePath(outdir, 'net1') });
  t.same(readdirSync(outdir), ['net1.bundle'], 'nothing else is left in the outdir');

  const check = path.join(dir, 'check.git');
  git(['init', '-q', '--bare', check]);
  git([`--git-dir=${check}`, 'bundle', 'verify', bundlePath(outdir, 'net1')]);
  const heads = git([`--git-dir=${check}`, 'bundle', 'list-heads', bundlePath(outdir, 'net1')]);
  for (const m of members) t.match(heads, `refs/virtual/${virtrefFor(m)}/heads/master`, `the bundle carries ${path.basename(path.dirname(m))}'s refs`);

  const clone = path.join(dir, 'clone.git');
  git(['clone', '-q', '--mirror', bundlePath(outdir, 'net1'), clone]);
  t.equal(refsOf(clone), refsOf(obst), 'a clone of the bundle has exactly the objstore refs');
  t.ok(fsckOk(clone).ok, 'the clone: git fsck');
  t.ok(fsckOk(obst).ok, 'the objstore: git fsck');
});

t.test('rewriting keeps the old bundle in place until the new one is complete', async (t) => {
  const dir = tmpDir(t);
  const { obst, members } = await objstoreOfTwo(dir);
  const outdir = path.join(dir, 'bundles');
  const target = bundlePath(outdir, 'net1');
  await writePreloadBundle(new Git(), obst, 'net1', outdir);
  const old = readFileSync(target);

  // A killed earlier write left its temp files behind: the next write clears them.
  writeFileSync(path.join(outdir, '.net1.bundle.0123456789ab.tmp'), 'partial');
  writeFileSync(path.join(outdir, '.net1.bundle.0123456789ab.tmp.lock'), 'partial');
  // ...but never another bundle's (a name may contain ".bundle.").
  writeFileSync(path.join(outdir, '.net1.bundle.x.bundle.0123456789ab.tmp'), 'someone else');

  pushCommit(members[1]!, { branch: 'later' });
  await fetchMember(new Git(), obst, members[1]!);
  // Watch the moment git writes the new bundle: the published one must still be the old one then.
  const seen: { during?: Buffer; tmpExists?: boolean } = {};
  class Watching extends Git {
    override async run(cmd: GitCommand): Promise<GitResult> {
      const r = await super.run(cmd);
      if (cmd.args[0] === 'bundle') {
        seen.during = readFileSync(target);
        const tmp = cmd.args[2];
        seen.tmpExists = typeof tmp === 'object' && existsSync(tmp.untrusted);
      }
      return r;
    }
  }
  await writePreloadBundle(new Watching(), obst, 'net1', outdir);
  t.ok(seen.during?.equals(old), 'while the new bundle was being written, the old one was still published whole');
  t.ok(seen.tmpExists, 'the new bundle was written to a temp file');
  t.notOk(readFileSync(target).equals(old), 'then the new one replaced it');
  t.same(readdirSync(outdir).sort(), ['.net1.bundle.x.bundle.0123456789ab.tmp', 'net1.bundle'], 'leftovers of this bundle removed, nothing of ours left');
  const check = path.join(dir, 'check.git');
  git(['init', '-q', '--bare', check]);
  t.match(git([`--git-dir=${check}`, 'bundle', 'list-heads', target]), `refs/virtual/${virtrefFor(members[1]!)}/heads/later`);

  // A write that fails leaves the published bundle as it was, and no temp file.
  const before = readFileSync(target);
  const broken = path.join(obst, 'refs/virtual/0000000000aa/heads/broken');
  git([`--git-dir=${obst}`, 'update-ref', 'refs/virtual/0000000000aa/heads/broken', git([`--git-dir=${obst}`, 'rev-parse', `refs/virtual/${virtrefFor(members[0]!)}/heads/master`])]);
  writeFileSync(broken, `${'1'.repeat(40)}\n`);
  await t.rejects(writePreloadBundle(new Git(), obst, 'net1', outdir), { code: 'GROK_ERR_GIT_FAILED' });
  t.ok(readFileSync(target).equals(before), 'the failed write did not touch the published bundle');
  t.same(readdirSync(outdir).filter((f) => f.startsWith('.net1.bundle.') && !f.includes('.x.')), [], 'its temp file is gone');
  git([`--git-dir=${obst}`, 'update-ref', '-d', 'refs/virtual/0000000000aa/heads/broken']);
  t.ok(fsckOk(obst).ok, 'the objstore: git fsck');
});

t.test('an objstore without refs writes no bundle and removes a stale one', async (t) => {
  const dir = tmpDir(t);
  const obst = path.join(dir, 'objstore', 'gone.git');
  await createObjstore(new Git(), obst);
  const outdir = path.join(dir, 'bundles');
  t.same(await writePreloadBundle(new Git(), obst, 'gone', outdir), { status: 'empty', removedStale: false });
  writeFileSync(bundlePath(outdir, 'gone'), 'an old bundle');
  t.same(await writePreloadBundle(new Git(), obst, 'gone', outdir), { status: 'empty', removedStale: true });
  t.same(readdirSync(outdir), []);
  t.ok(statSync(obst).isDirectory() && fsckOk(obst).ok, 'the objstore: git fsck');
});

t.test('a name that is not a plain file name is refused', async (t) => {
  const dir = tmpDir(t);
  await t.rejects(writePreloadBundle(new Git(), dir, '../escape', dir), { code: 'GROK_ERR_BUNDLE' });
});
