import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import t from 'tap';
import { Git } from '../../shared/git/index.js';
import { silentLogger } from '../../shared/log.js';
import { startOrigin } from '../../origin/server/origin.js';
import { runBin } from '../helpers/cli.js';
import { BIN, makeGrokmirrorFixture } from '../helpers/fixture.js';
import { fsckOk, git, GIT_ENV, pushCommit } from '../helpers/git.js';
import { readM } from '../helpers/manifest.js';
import { startTestOrigin, testSettings } from '../helpers/origin.js';
import { pull, replicaConfig } from '../helpers/replica.js';
import { tmpDir } from '../helpers/tmp.js';

const refsOf = (repo: string) => git([`--git-dir=${repo}`, 'for-each-ref', '--format=%(objectname) %(refname)']);
const listed = (mirror: string) => readFileSync(path.join(mirror, 'projects.list'), 'utf8').split('\n').filter(Boolean);
// A clone from a server in this process must not block the event loop that serves it.
const gitAsync = (args: string[]) => promisify(execFile)('git', args, { env: GIT_ENV });
const packs = (repo: string) => readdirSync(path.join(repo, 'objects', 'pack')).filter((f) => f.endsWith('.pack'));

t.test('archive and unarchive travel origin -> replica -> replica; archived repos stay clonable and are not fetched', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeGrokmirrorFixture(top);
  const origin = await startTestOrigin(t, top);
  const originManifest = path.join(top, 'manifest.js.gz');
  const tier1 = path.join(dir, 'tier1');
  const c1 = replicaConfig(tier1, origin.url, 'archive_repack = yes\n');
  t.same((await pull(c1)).failed, []);
  t.ok(listed(tier1).includes('pub/meta.git'));

  // Archived two ways: the grok-manifest flag (handed to the running grok-origin) and the marker file.
  const meta = path.join(top, 'pub/meta.git');
  const cli = await runBin(BIN.manifest, ['-m', originManifest, '-t', top, '--archive', meta]);
  t.equal(cli.code, 0, cli.stderr);
  t.ok(existsSync(path.join(meta, 'grokmirror.archived')), 'the marker is written into the repository');
  writeFileSync(path.join(top, 'plain.git', 'grokmirror.archived'), '');
  await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/plain.git'] } });
  let m0 = await readM(originManifest);
  t.equal(m0['/pub/meta.git']?.archived, true, 'origin: --archive sets the flag');
  t.equal(m0['/plain.git']?.archived, true, 'origin: the marker file sets the flag');
  t.notOk('archived' in m0['/pub/described.git']!, 'other entries carry no archived key');

  // A push to an archived repository: the origin keeps the flag and lists the new refs.
  const sha = pushCommit(meta, { branch: 'after-archive' });
  await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/pub/meta.git'] } });
  m0 = await readM(originManifest);
  t.equal(m0['/pub/meta.git']?.archived, true, 'a push does not unarchive');

  const before = refsOf(path.join(tier1, 'pub/meta.git'));
  const r1 = await pull(c1);
  t.same(r1.failed, []);
  t.notOk(r1.updated.includes('/pub/meta.git'), 'tier 1 did not fetch the archived repo');
  t.same(r1.archivedNotFetched, ['/pub/meta.git'], 'and says so');
  t.equal(refsOf(path.join(tier1, 'pub/meta.git')), before, 'its refs stay as they were');
  t.throws(() => git([`--git-dir=${path.join(tier1, 'pub/meta.git')}`, 'cat-file', '-e', sha]), 'the pushed commit did not arrive');
  const m1 = await readM(path.join(tier1, 'manifest.js.gz'));
  t.equal(m1['/pub/meta.git']?.archived, true, 'tier 1 manifest carries the flag');
  t.equal(m1['/plain.git']?.archived, true);
  t.notOk(listed(tier1).includes('pub/meta.git') || listed(tier1).includes('plain.git'), 'hidden from projects.list');
  t.ok(listed(tier1).includes('pub/described.git'));
  t.same(packs(path.join(tier1, 'pub/meta.git')).length, 1, 'archive_repack left one pack');
  t.same((await pull(c1, { force: true })).archivedNotFetched, ['/pub/meta.git'], 'a forced pass does not fetch it either');

  // Tier 2 first sees the repos already archived: cloned once, flag kept, still hidden.
  const middle = await startOrigin({ ...testSettings(tier1) }, { git: new Git(), log: silentLogger(), now: Date.now });
  t.teardown(() => middle.close());
  const tier2 = path.join(dir, 'tier2');
  const c2 = replicaConfig(tier2, middle.url, 'projectslist_archived = yes\n');
  const r2 = await pull(c2);
  t.ok(r2.cloned.includes('/pub/meta.git') && r2.cloned.includes('/plain.git'), 'tier 2 clones archived repos it lacks');
  t.equal(refsOf(path.join(tier2, 'pub/meta.git')), before, 'tier 2 holds what tier 1 holds');
  const m2 = await readM(path.join(tier2, 'manifest.js.gz'));
  t.equal(m2['/pub/meta.git']?.archived, true, 'the flag reached tier 2');
  t.ok(listed(tier2).includes('pub/meta.git'), 'projectslist_archived = yes lists it');

  // Old clone URLs answer on the replica tier (grok-origin serving tier 1).
  const clone = path.join(dir, 'clone.git');
  await gitAsync(['clone', '-q', '--mirror', `${middle.url}/pub/meta.git`, clone]);
  t.equal(refsOf(clone), before, 'an archived repo is clonable from the replica');

  // Unarchive: the next pass fetches again, and the flag leaves every tier.
  const un = await runBin(BIN.manifest, ['-m', originManifest, '-t', top, '--unarchive', meta]);
  t.equal(un.code, 0, un.stderr);
  t.notOk(existsSync(path.join(meta, 'grokmirror.archived')));
  t.notOk('archived' in (await readM(originManifest))['/pub/meta.git']!, 'origin: flag gone');
  const r3 = await pull(c1);
  t.same(r3.updated, ['/pub/meta.git'], 'tier 1 fetches it again');
  t.equal(refsOf(path.join(tier1, 'pub/meta.git')), refsOf(meta));
  t.notOk('archived' in (await readM(path.join(tier1, 'manifest.js.gz')))['/pub/meta.git']!);
  t.ok(listed(tier1).includes('pub/meta.git'), 'listed again');
  await middle.store.reload();
  const r4 = await pull(c2);
  t.same(r4.updated, ['/pub/meta.git'], 'tier 2 too');
  t.equal(git([`--git-dir=${path.join(tier2, 'pub/meta.git')}`, 'rev-parse', 'refs/heads/after-archive']), sha);
  t.notOk('archived' in (await readM(path.join(tier2, 'manifest.js.gz')))['/pub/meta.git']!);
  t.equal((await readM(path.join(tier2, 'manifest.js.gz')))['/plain.git']?.archived, true, 'plain.git stays archived');

  for (const m of [tier1, tier2]) for (const r of ['plain.git', 'pub/meta.git', 'pub/described.git']) t.ok(fsckOk(path.join(m, r)).ok, `${m}/${r} fsck`);
  t.ok(fsckOk(clone).ok);
});

t.test('grok-manifest --archive refuses what is not a repository under the toplevel, by name', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeGrokmirrorFixture(top);
  const file = path.join(top, 'manifest.js.gz');
  const outside = await runBin(BIN.manifest, ['-m', file, '-t', top, '--standalone', '--archive', dir]);
  t.equal(outside.code, 1);
  t.match(outside.stderr, /cannot archive .*not under the toplevel/);
  const both = await runBin(BIN.manifest, ['-m', file, '-t', top, '--archive', '--unarchive', path.join(top, 'plain.git')]);
  t.equal(both.code, 2);
  t.match(both.stderr, /--archive and --unarchive cannot be given together/);
  const ok = await runBin(BIN.manifest, ['-m', file, '-t', top, '--standalone', '--archive', path.join(top, 'plain.git')]);
  t.equal(ok.code, 0, ok.stderr);
  const m = await readM(file);
  t.equal(m['/plain.git']?.archived, true, 'a standalone run writes the flag into the manifest file');
  // A full walk (no paths) reads the marker again: the flag survives regeneration.
  const walk = await runBin(BIN.manifest, ['-m', file, '-t', top, '--purge']);
  t.equal(walk.code, 0, walk.stderr);
  t.equal((await readM(file))['/plain.git']?.archived, true);
});
