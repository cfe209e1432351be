import { existsSync, readFileSync, readlinkSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { makeGrokmirrorFixture } from '../helpers/fixture.js';
import { fsckOk, git, gitDir, makeRepo, pushCommit } from '../helpers/git.js';
import { readM } from '../helpers/manifest.js';
import { startTestOrigin } from '../helpers/origin.js';
import { pull, replicaConfig } from '../helpers/replica.js';
import { tmpDir } from '../helpers/tmp.js';

const refsOf = (repo: string) => git([`--git-dir=${repo}`, 'for-each-ref', '--format=%(objectname) %(refname)']);

t.test('initial mirror, then incremental updates, from our origin over HTTP', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeGrokmirrorFixture(top);
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  const config = replicaConfig(mirror, origin.url);
  const first = await pull(config);
  t.equal(first.cloned.length, 6);
  t.same(first.failed, []);
  for (const r of ['plain.git', 'pub/described.git', 'pub/detached.git', 'pub/latin1.git', 'pub/meta.git', 'forks/fork1.git']) {
    t.equal(refsOf(path.join(mirror, r)), refsOf(path.join(top, r)), `${r}: same refs`);
    t.ok(fsckOk(path.join(mirror, r)).ok, `${r}: git fsck`);
  }
  t.equal(gitDir(path.join(mirror, 'pub/described.git'), ['config', 'gitweb.owner']), 'Ann Owner');
  t.throws(() => gitDir(path.join(mirror, 'plain.git'), ['config', 'gitweb.owner']), 'no owner at the origin: none here (default_owner is never written)');
  t.equal(readFileSync(path.join(mirror, 'pub/described.git/description'), 'utf8'), 'Described repo', 'description without a newline');
  t.equal(readFileSync(path.join(mirror, 'pub/detached.git/HEAD'), 'utf8'), '299e476abb5b5cab4dfd37a5b13de9ecc15317a3\n');
  t.equal(readlinkSync(path.join(mirror, 'alias.git')), path.join(mirror, 'pub/described.git'), 'symlink made');
  t.equal(readFileSync(path.join(mirror, 'projects.list'), 'utf8'), 'forks/fork1.git\nplain.git\npub/described.git\npub/detached.git\npub/latin1.git\npub/meta.git\n');
  t.equal(readFileSync(path.join(mirror, 'pub/meta.git/info/web/last-modified'), 'utf8'), '2024-02-03 04:05:06\n');
  t.equal(readFileSync(path.join(mirror, 'pub/meta.git/grokmirror.timestamp'), 'utf8'), '1706933106');
  t.same(readdirSync(path.join(mirror, 'pub')).filter((n) => n.startsWith('.') && !n.endsWith('.lock')), [], 'no temporary clones left');
  const local = await readM(path.join(mirror, 'manifest.js.gz'));
  t.equal(local['/pub/meta.git']!.fingerprint, readFileSync(path.join(top, 'pub/meta.git/grokmirror.fingerprint'), 'utf8'), 'local manifest records what we hold');

  const again = await pull(config);
  t.equal(again.status, 'unchanged', 'nothing changed: a 304');

  const sha = pushCommit(path.join(top, 'plain.git'), { branch: 'feature' });
  writeFileSync(path.join(top, 'pub/described.git/description'), 'Described anew\n');
  await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/plain.git', '/pub/described.git'] } });
  const third = await pull(config);
  t.same(third.updated, ['/plain.git'], 'only the pushed repo was fetched');
  t.same(third.fixed, ['/pub/described.git'], 'the settings-only change is counted as such');
  t.equal(gitDir(path.join(mirror, 'plain.git'), ['rev-parse', 'refs/heads/feature']), sha);
  t.equal(readFileSync(path.join(mirror, 'pub/described.git/description'), 'utf8'), 'Described anew', 'description fixed without a fetch');
  t.ok(fsckOk(path.join(mirror, 'plain.git')).ok);
});

t.test('force pushes: mirrored normally, refused for ffonly repos', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'free.git'), { commits: 3 });
  makeRepo(path.join(top, 'strict.git'), { commits: 3 });
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  const config = replicaConfig(mirror, origin.url, 'ffonly = /strict.git\n');
  await pull(config);
  for (const r of ['free.git', 'strict.git']) {
    gitDir(path.join(top, r), ['update-ref', 'refs/heads/master', 'master~2']);
    await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: [`/${r}`] } });
  }
  const res = await pull(config);
  t.equal(gitDir(path.join(mirror, 'free.git'), ['rev-parse', 'master']), gitDir(path.join(top, 'free.git'), ['rev-parse', 'master']), 'mirror follows the force push');
  t.not(gitDir(path.join(mirror, 'strict.git'), ['rev-parse', 'master']), gitDir(path.join(top, 'strict.git'), ['rev-parse', 'master']), 'ffonly keeps its history');
  t.match(res.failed, [{ key: '/strict.git' }], 'and says so');
  const next = await pull(config);
  t.equal(next.status, 'done', 'a failed pass did not record the fetch: the next one fetches and retries (no 304)');
});

t.test('purge, purgeprotect, --force-purge and the empty-manifest guard', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  for (let i = 0; i < 4; i++) makeRepo(path.join(top, `r${i}.git`));
  const origin = await startTestOrigin(t, top);
  const full = await readM(path.join(top, 'manifest.js.gz'));
  // The remote manifest as a file:// source the test controls; repositories still come over HTTP.
  const remoteFile = path.join(dir, 'remote.js');
  const publish = (keys: string[]) => writeFileSync(remoteFile, JSON.stringify(Object.fromEntries(keys.map((k) => [k, full[k]]))));
  publish(Object.keys(full));
  const mirror = path.join(dir, 'mirror');
  const config = replicaConfig(mirror, origin.url, 'purge = yes\npurgeprotect = 30\n', `file://${remoteFile}`);
  t.equal((await pull(config)).cloned.length, 4);
  makeRepo(path.join(mirror, 'local-only.git'));

  let res = await pull(config, { force: true });
  t.same(res.purged, ['/local-only.git'], '1 of 5 (20%) is under purgeprotect 30%: purged');
  t.notOk(existsSync(path.join(mirror, 'local-only.git')));

  publish(['/r0.git']);
  res = await pull(config, { force: true });
  t.same(res.purged, [], '3 of 4 leaving: refused');
  t.same(res.purgeRefused, { count: 3, total: 4 });
  for (let i = 0; i < 4; i++) t.ok(existsSync(path.join(mirror, `r${i}.git/HEAD`)), `r${i} still there`);

  res = await pull(config, { force: true, forcePurge: true });
  t.same(res.purged, ['/r1.git', '/r2.git', '/r3.git'], '--force-purge');
  t.same(Object.keys(await readM(path.join(mirror, 'manifest.js.gz'))), ['/r0.git']);
  t.equal(readFileSync(path.join(mirror, 'projects.list'), 'utf8'), 'r0.git\n');

  writeFileSync(remoteFile, '{}');
  await t.rejects(pull(config, { force: true }), { code: 'GROK_ERR_MANIFEST_SHAPE', message: /remote manifest is empty while we hold 1 repositories; refusing it/ });
  t.ok(existsSync(path.join(mirror, 'r0.git/HEAD')), 'an empty manifest purged nothing');
});

t.test('hostile remote manifests: refused entries, nothing written outside the toplevel, nothing lost', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'good.git'));
  const origin = await startTestOrigin(t, top);
  const good = (await readM(path.join(top, 'manifest.js.gz')))['/good.git']!;
  const remoteFile = path.join(dir, 'remote.js');
  const mirror = path.join(dir, 'mirror');
  const config = replicaConfig(mirror, origin.url, 'purge = yes\n', `file://${remoteFile}`);
  writeFileSync(remoteFile, JSON.stringify({ '/good.git': good }));
  await pull(config);
  const hostile: Record<string, unknown> = {
    '/good.git': good,
    '/../../escape.git': good,
    '/a/../../escape2.git': good,
    'relative.git': good,
    '//abs.git': good,
    '/nul\u0000.git': good,
    '/newline\n.git': good,
    '/nofp.git': { modified: 1, head: null },
    '/badhead.git': { ...good, head: 'ref: ../../../etc/passwd' },
    '/dashhead.git': { ...good, head: '--upload-pack=touch /tmp/x' },
    '/owner.git': { ...good, owner: ['evil'] },
    '/types.git': { ...good, modified: 'yesterday' },
    '/sym.git': { ...good, symlinks: ['/../../outside-link'] },
  };
  writeFileSync(remoteFile, JSON.stringify(hostile));
  const res = await pull(config, { force: true });
  // Refused entries are held back and named as failed (the pass exits 1).
  const refused = Object.keys(hostile).filter((k) => k !== '/good.git').sort();
  t.same(res.failed.map((f) => f.key).sort(), refused, 'each refused entry is a failed repository of the pass');
  t.ok(res.failed.every((f) => f.error.startsWith('refused: ')), 'saying it was refused');
  t.same(res.cloned, [], 'nothing made from refused entries');
  t.equal((await pull(config)).status, 'unchanged', 'the fetch was recorded all the same: the same manifest is refused the same way, so it is read again once it changes');
  t.same(readdirSync(dir).sort(), ['mirror', 'origin', 'remote.js'], 'nothing written outside the toplevel');
  t.ok(fsckOk(path.join(mirror, 'good.git')).ok, 'the existing repository is untouched');
  for (const [name, text] of [['invalid JSON', '{"/good.git": '], ['not an object', '[1]'], ['gzip bomb', null]] as const) {
    const f = path.join(dir, name === 'gzip bomb' ? 'bomb.js.gz' : 'remote.js');
    writeFileSync(f, text ?? gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20)));
    const c = name === 'gzip bomb' ? replicaConfig(mirror, origin.url, 'purge = yes\n', `file://${f}`) : config;
    const cfg = name === 'gzip bomb' ? { ...c, core: { ...c.core, manifest_max_size: 8 * 1024 * 1024 } } : c;
    await t.rejects(pull(cfg, { force: true }), { code: /GROK_ERR_MANIFEST_(PARSE|SHAPE|TOO_LARGE)/ }, name);
    t.ok(existsSync(path.join(mirror, 'good.git/HEAD')), `${name}: nothing purged`);
  }
  // One gzip member (grokmirror's form), read as it inflates: a CRC damaged at its very end is found
  // after every entry was scanned, and nothing is acted on (good.git, absent from it, is not purged).
  const fillers = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`/filler/f${i}.git`, good]));
  const text = JSON.stringify({ ...fillers, '/new.git': good });
  const damaged = gzipSync(text);
  damaged.writeUInt32LE((damaged.readUInt32LE(damaged.length - 8) ^ 1) >>> 0, damaged.length - 8);
  const crcFile = path.join(dir, 'crc.js.gz');
  writeFileSync(crcFile, damaged);
  await t.rejects(pull(replicaConfig(mirror, origin.url, 'purge = yes\nexclude = /filler/*\n', `file://${crcFile}`), { force: true, forcePurge: true }), { code: 'GROK_ERR_MANIFEST_GZIP' }, 'a damaged CRC at the end: refused');
  t.ok(existsSync(path.join(mirror, 'good.git/HEAD')), 'a damaged CRC: nothing purged');
  t.notOk(existsSync(path.join(mirror, 'new.git')), 'a damaged CRC: nothing cloned');
});

t.test('hooks get the right arguments and stdin', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'a.git'));
  makeRepo(path.join(top, 'b.git'));
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  const log = path.join(dir, 'hooks.log');
  // "$$" is a literal "$" in grokmirror.conf (configparser interpolation). Each run appends its line
  // in one write: post_update_hook runs for several repositories at once.
  const hook = (name: string) => `sh -c 'l=$$(printf "%s %s|" ${name} "$$1"; cat); printf "%s\\n" "$$l" >> ${log}' hook`;
  const config = replicaConfig(mirror, origin.url, `post_update_hook = ${hook('update')}\npost_clone_complete_hook = ${hook('cloned')}\npost_work_complete_hook = ${hook('done')}\n`);
  await pull(config);
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  t.ok(lines.includes(`update ${path.join(mirror, 'a.git')}|`), 'post_update_hook gets the repository path');
  const text = readFileSync(log, 'utf8');
  const cloned = text.slice(text.indexOf('cloned |'));
  t.ok(text.includes('cloned |') && cloned.includes(`${path.join(mirror, 'a.git')}\n`) && cloned.includes(`${path.join(mirror, 'b.git')}\n`), 'post_clone_complete_hook gets new clones on stdin (any order)');
  t.ok(lines.includes('done |'), 'post_work_complete_hook runs at the end');
});

t.test('a local-manifest write cut short by a kill: the next pass removes its temp file, and nothing else', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'r.git'), { commits: 2 });
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  const plist = path.join(mirror, 'projects.list');
  const config = replicaConfig(mirror, origin.url);
  await pull(config);
  const manifest = config.core.manifest;
  const left = path.join(path.dirname(manifest), `.${path.basename(manifest)}.0123456789ab.tmp`);
  // projects.list is written by passes only, under the pass lock: a temp file of it is a killed pass's.
  const plistLeft = path.join(mirror, '.projects.list.32d087dd79c4.tmp');
  writeFileSync(plistLeft, 'r.git\n');
  const stateLeft = path.join(mirror, '..manifest.js.gz.remote.a0b1c2d3e4f5.tmp');
  writeFileSync(stateLeft, '{');
  const notOurs = path.join(path.dirname(manifest), `.${path.basename(manifest)}.notatemp.tmp`);
  writeFileSync(left, 'half a manifest');
  writeFileSync(notOurs, 'someone else');
  // A pass with nothing to do (no -n: the origin's manifest is unchanged) still cleans up.
  await pull(config);
  t.notOk(existsSync(left), 'the temp file of the killed write is gone');
  t.notOk(existsSync(plistLeft), 'and that of a killed projects.list write');
  t.notOk(existsSync(stateLeft), 'and that of a killed remote-manifest state write');
  t.equal(readFileSync(plist, 'utf8'), 'r.git\n', 'projects.list itself stays');
  t.ok(existsSync(notOurs), 'a file that is not one of ours stays');
  t.same(Object.keys(await readM(manifest)), ['/r.git']);
  t.ok(fsckOk(path.join(mirror, 'r.git')).ok);
});

t.test('a reclone marker replaces the repository', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'r.git'), { commits: 3 });
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  const config = replicaConfig(mirror, origin.url);
  await pull(config);
  writeFileSync(path.join(mirror, 'r.git/grokmirror.reclone'), 'fsck found: missing blob\n');
  writeFileSync(path.join(mirror, 'r.git/junk'), 'x');
  const res = await pull(config, { force: true });
  t.same(res.cloned, ['/r.git']);
  t.notOk(existsSync(path.join(mirror, 'r.git/grokmirror.reclone')));
  t.notOk(existsSync(path.join(mirror, 'r.git/junk')), 'a fresh copy');
  t.ok(fsckOk(path.join(mirror, 'r.git')).ok);
});

t.test('a pass looks on disk only at what the manifest changed; -n looks at everything held', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'r.git'), { commits: 3 });
  makeRepo(path.join(top, 'other.git'), { commits: 2 });
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  const config = replicaConfig(mirror, origin.url);
  await pull(config);
  writeFileSync(path.join(mirror, 'r.git/grokmirror.reclone'), 'fsck found: missing blob\n');
  pushCommit(path.join(top, 'other.git'));
  await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/other.git'] } });
  const res = await pull(config);
  t.same(res.updated, ['/other.git'], 'the changed entry is fetched');
  t.same(res.cloned, [], 'the unchanged one is taken as recorded: its reclone mark waits for a recheck');
  t.ok(existsSync(path.join(mirror, 'r.git/grokmirror.reclone')));
  const rechecked = await pull(config, { force: true });
  t.same(rechecked.cloned, ['/r.git'], '-n looks at every repository held');
  t.notOk(existsSync(path.join(mirror, 'r.git/grokmirror.reclone')));
  t.ok(fsckOk(path.join(mirror, 'r.git')).ok);
  t.ok(fsckOk(path.join(mirror, 'other.git')).ok);
});

t.test('include/exclude changes: newly excluded repositories become purge candidates', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'pub/a.git'));
  makeRepo(path.join(top, 'pub/b.git'));
  makeRepo(path.join(top, 'testing/c.git'));
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  const first = await pull(replicaConfig(mirror, origin.url, 'include = /pub/*\n'));
  t.same(first.cloned.sort(), ['/pub/a.git', '/pub/b.git'], 'include limits what is mirrored');
  const { bumpConfig } = await import('../helpers/replica.js');
  bumpConfig();
  const second = await pull(replicaConfig(mirror, origin.url, 'include = /pub/*\nexclude = /pub/b.git\npurge = yes\npurgeprotect = 60\n'));
  t.same(second.purged, ['/pub/b.git'], 'an edited config re-reads the manifest; the excluded repo is purged');
  t.notOk(existsSync(path.join(mirror, 'pub/b.git')));
  t.ok(fsckOk(path.join(mirror, 'pub/a.git')).ok);
});

t.test('an origin that moved (new site URL): remotes are re-pointed and fetching goes on', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'a.git'));
  const first = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  await pull(replicaConfig(mirror, first.url));
  await first.close();
  const second = await startTestOrigin(t, top);
  const sha = pushCommit(path.join(top, 'a.git'));
  await second.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/a.git'] } });
  const res = await pull(replicaConfig(mirror, second.url));
  t.same(res.failed, []);
  t.equal(gitDir(path.join(mirror, 'a.git'), ['config', 'remote._grokmirror.url']), `${second.url}/a.git`);
  t.equal(gitDir(path.join(mirror, 'a.git'), ['rev-parse', 'master']), sha);
});

t.test('a reclone that died between its two renames: the old copy is put back, not deleted', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'r.git'), { commits: 2 });
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  const config = replicaConfig(mirror, origin.url);
  await pull(config);
  const { renameSync, mkdirSync } = await import('node:fs');
  // the state a crash leaves: the old copy moved aside, a half-built new one beside it, nothing in place
  renameSync(path.join(mirror, 'r.git'), path.join(mirror, '.r.git.grok-old-dead0000'));
  mkdirSync(path.join(mirror, '.r.git.grok-init-dead0001'));
  const res = await pull(config, { force: true });
  t.same(res.failed, []);
  t.ok(fsckOk(path.join(mirror, 'r.git')).ok, 'the repository is back and whole');
  t.same(readdirSync(mirror).filter((n) => n.includes('.grok-')), [], 'no leftovers');
});

t.test('a reclone keeps borrowing from what the old copy borrowed from', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'up.git'), { commits: 20 });
  git(['clone', '-q', '--bare', path.join(top, 'up.git'), path.join(top, 'fork.git')]);
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  const config = replicaConfig(mirror, origin.url);
  await pull(config);
  // the replica's fork borrows from its upstream (a 1.x-style reference setup made by hand)
  writeFileSync(path.join(mirror, 'fork.git/objects/info/alternates'), `${path.join(mirror, 'up.git/objects')}\n`);
  writeFileSync(path.join(mirror, 'fork.git/grokmirror.reclone'), 'broken\n');
  const res = await pull(config, { force: true });
  t.same(res.cloned, ['/fork.git']);
  t.equal(readFileSync(path.join(mirror, 'fork.git/objects/info/alternates'), 'utf8').trim(), path.join(mirror, 'up.git/objects'), 'alternates line restored');
  t.ok(fsckOk(path.join(mirror, 'fork.git')).ok);
});
