import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { runBundle } from '../../../replica/bundle/run.js';
import { Git } from '../../../shared/git/index.js';
import { silentLogger } from '../../../shared/log.js';
import { parseRange } from '../../../origin/server/file-reply.js';
import { fsckOk, git, makeRepo, pushCommit } from '../../helpers/git.js';
import { runM } from '../../helpers/manifest.js';
import { rawRequest, startTestOrigin } from '../../helpers/origin.js';
import { fsck, fsckConfig } from '../../helpers/fsck.js';
import { pull, replicaConfig } from '../../helpers/replica.js';
import { tmpDir } from '../../helpers/tmp.js';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

const SECRET = 'top secret, outside every served directory';
const refsOf = (repo: string, ...patterns: string[]) => git([`--git-dir=${repo}`, 'for-each-ref', '--format=%(objectname) %(refname)', ...patterns]);

/** An origin with /pub/a.git bundled by grok-bundle, /pub/b.git not, a preload bundle and a secret beside them. */
async function setup(t: Teardown, originConf?: (d: { out: string; pre: string }) => string) {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'pub/a.git'), { commits: 5 });
  pushCommit(path.join(top, 'pub/a.git'), { branch: 'next' });
  makeRepo(path.join(top, 'pub/b.git'));
  await runM(top, path.join(top, 'manifest.js.gz'));
  const out = path.join(dir, 'bundles');
  const res = await runBundle(
    { toplevel: top, manifest: path.join(top, 'manifest.js.gz'), manifest_max_size: 1 << 20, objstore: path.join(top, 'objstore') },
    { outdir: out, gitargs: '', revlistargs: '--branches HEAD', maxSizeGiB: 2, include: ['/pub/a.git'] },
    { git: new Git(), log: silentLogger() },
  );
  if (res.outcomes.get('/pub/a.git')?.status !== 'written') throw new Error(`no bundle: ${JSON.stringify([...res.outcomes])}`);
  const pre = path.join(dir, 'preload');
  mkdirSync(pre);
  git([`--git-dir=${path.join(top, 'pub/b.git')}`, 'bundle', 'create', '-q', path.join(pre, 'net1.bundle'), '--all']);
  writeFileSync(path.join(dir, 'secret.bundle'), SECRET);
  mkdirSync(path.join(dir, 'secret'));
  writeFileSync(path.join(dir, 'secret', 'clone.bundle'), SECRET);
  writeFileSync(path.join(top, 'secret.bundle'), SECRET);
  const conf = originConf ? originConf({ out, pre }) : `bundle_dir = ${out}\npreload_bundle_dir = ${pre}\n`;
  const origin = await startTestOrigin(t, top, { extra: conf });
  return { dir, top, out, pre, origin, aBundle: path.join(out, 'pub/a/clone.bundle') };
}

async function get(url: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await fetch(url, { headers, method });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

t.test('parseRange', async (t) => {
  t.same(parseRange(undefined, 100), null);
  t.same(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
  t.same(parseRange('bytes=90-', 100), { start: 90, end: 99 });
  t.same(parseRange('bytes=90-500', 100), { start: 90, end: 99 });
  t.same(parseRange('bytes=-10', 100), { start: 90, end: 99 });
  t.same(parseRange('bytes=-500', 100), { start: 0, end: 99 });
  t.equal(parseRange('bytes=100-', 100), 'unsatisfiable');
  t.equal(parseRange('bytes=-0', 100), 'unsatisfiable');
  t.same(parseRange('bytes=5-2', 100), null, 'invalid: ignored');
  t.same(parseRange('bytes=0-1,5-6', 100), null, 'several ranges: the whole file');
  t.same(parseRange('items=0-1', 100), null);
});

t.test('clone.bundle for Android\'s repo tool: served whole, by range, conditionally; it clones', async (t) => {
  const s = await setup(t);
  const file = readFileSync(s.aBundle);
  for (const p of ['/pub/a.git/clone.bundle', '/pub/a/clone.bundle', '/_grok/bundles/pub/a/clone.bundle']) {
    const r = await get(`${s.origin.url}${p}`);
    t.equal(r.status, 200, p);
    t.ok(r.body.equals(file), `${p}: the bundle's bytes`);
    t.equal(r.headers.get('accept-ranges'), 'bytes');
    t.equal(r.headers.get('content-type'), 'application/x-git-bundle');
  }
  const full = await get(`${s.origin.url}/pub/a/clone.bundle`);
  const etag = full.headers.get('etag')!;
  const lastModified = full.headers.get('last-modified')!;
  t.ok(etag && lastModified);
  const head = await get(`${s.origin.url}/pub/a/clone.bundle`, {}, 'HEAD');
  t.equal(head.status, 200);
  t.equal(head.headers.get('content-length'), String(file.length));
  t.equal((await get(`${s.origin.url}/pub/a/clone.bundle`, { 'if-none-match': etag })).status, 304);
  t.equal((await get(`${s.origin.url}/pub/a/clone.bundle`, { 'if-modified-since': lastModified })).status, 304);

  // A resumed download: the rest from where the partial copy ends.
  const part = await get(`${s.origin.url}/pub/a/clone.bundle`, { range: 'bytes=100-' });
  t.equal(part.status, 206);
  t.equal(part.headers.get('content-range'), `bytes 100-${file.length - 1}/${file.length}`);
  t.ok(part.body.equals(file.subarray(100)));
  const mid = await get(`${s.origin.url}/pub/a/clone.bundle`, { range: 'bytes=10-19', 'if-range': etag });
  t.equal(mid.status, 206);
  t.ok(mid.body.equals(file.subarray(10, 20)));
  const changed = await get(`${s.origin.url}/pub/a/clone.bundle`, { range: 'bytes=10-19', 'if-range': 'W/"another"' });
  t.equal(changed.status, 200, 'If-Range of another version: the whole file');
  t.equal(changed.body.length, file.length);
  const past = await get(`${s.origin.url}/pub/a/clone.bundle`, { range: `bytes=${file.length}-` });
  t.equal(past.status, 416);
  t.equal(past.headers.get('content-range'), `bytes */${file.length}`);

  const saved = path.join(s.dir, 'downloaded.bundle');
  writeFileSync(saved, Buffer.concat([file.subarray(0, 100), part.body]));
  const clone = path.join(s.dir, 'clone.git');
  git(['clone', '-q', '--mirror', saved, clone]);
  t.equal(refsOf(clone, 'refs/heads/'), refsOf(path.join(s.top, 'pub/a.git'), 'refs/heads/'), 'the downloaded bundle clones into the branches');
  t.ok(fsckOk(clone).ok, fsckOk(clone).output);
});

t.test('preload bundles under /_grok/preload/', async (t) => {
  const s = await setup(t);
  const r = await get(`${s.origin.url}/_grok/preload/net1.bundle`);
  t.equal(r.status, 200);
  t.ok(r.body.equals(readFileSync(path.join(s.pre, 'net1.bundle'))));
  t.equal((await get(`${s.origin.url}/_grok/preload/net2.bundle`)).status, 404);
  t.equal((await get(`${s.origin.url}/_grok/preload/net1`)).status, 404);
});

t.test('404 for anything missing, no listings, no way out of the served directories', async (t) => {
  const s = await setup(t);
  // A manifest repository whose bundle directory is a symlink out of bundle_dir.
  symlinkSync(path.join(s.dir, 'secret'), path.join(s.out, 'pub/b'));
  const notFound = [
    '/pub/b.git/clone.bundle',
    '/nope.git/clone.bundle',
    '/pub/clone.bundle',
    '/_grok/bundles/',
    '/_grok/bundles/pub/a/',
    '/_grok/bundles/pub/a/.fingerprint',
    '/pub/a/.fingerprint',
    '/_grok/bundles/nope/clone.bundle',
    '/_grok/preload/',
    '/_grok/preload/secret.bundle',
  ];
  for (const p of notFound) t.equal((await get(`${s.origin.url}${p}`)).status, 404, p);
  const raw = [
    '/../secret/clone.bundle',
    '/pub/../../secret/clone.bundle',
    '/%2e%2e/secret/clone.bundle',
    '/pub/%2e%2e%2f%2e%2e%2fsecret/clone.bundle',
    '/_grok/bundles/../../secret/clone.bundle',
    '/_grok/bundles/%2e%2e%2fsecret/clone.bundle',
    '/_grok/bundles/pub%2f..%2f..%2fsecret/clone.bundle',
    '/_grok/preload/../secret.bundle',
    '/_grok/preload/%2e%2e%2fsecret.bundle',
    '/_grok/preload/..%2f..%2fsecret.bundle',
    '/_grok/preload/%252e%252e%252fsecret.bundle',
    '/_grok/preload/..%5csecret.bundle',
    '/_grok/preload/net1.bundle%00',
    '/pub/a.git%00/clone.bundle',
    '/_grok/bundles/pub/a%5c..%5c..%5csecret/clone.bundle',
    `/${s.dir.slice(1)}/secret/clone.bundle`,
    '/_grok/preload/%',
  ];
  for (const p of raw) {
    const r = await rawRequest(s.origin.url, p);
    t.ok(r.status >= 400 && r.status < 500, `${p}: refused (${r.status})`);
    t.notOk(r.text.includes(SECRET), `${p}: nothing of the secret`);
  }
  t.ok(fsckOk(path.join(s.top, 'pub/a.git')).ok);
});

t.test('nothing is served when the directories are not configured', async (t) => {
  const s = await setup(t, () => '');
  t.equal((await get(`${s.origin.url}/pub/a.git/clone.bundle`)).status, 404);
  t.equal((await get(`${s.origin.url}/_grok/bundles/pub/a/clone.bundle`)).status, 404);
  t.equal((await get(`${s.origin.url}/_grok/preload/net1.bundle`)).status, 404);
  // The repositories themselves are still served.
  const clone = path.join(s.dir, 'over-http.git');
  const r = await new Promise<number | null>((resolve) => {
    import('node:child_process').then(({ spawn }) => spawn('git', ['clone', '-q', '--bare', `${s.origin.url}/pub/a.git`, clone], { stdio: 'ignore' }).on('close', resolve));
  });
  t.equal(r, 0);
  t.ok(fsckOk(clone).ok);
});

t.test('end to end: grok-fsck writes preload bundles, grok-origin serves them, a new replica seeds its objstore from them', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  const up = path.join(top, 'linux.git');
  makeRepo(up, { commits: 20 });
  const forks = ['alice', 'bob'].map((u) => path.join(top, `users/${u}/linux.git`));
  for (const f of forks) {
    git(['clone', '-q', '--bare', up, f]);
    pushCommit(f, { branch: `${path.basename(path.dirname(f))}-work` });
  }
  await runM(top, path.join(top, 'manifest.js.gz'));
  const pre = path.join(dir, 'preload');
  const res = await fsck(fsckConfig(top, `preload_bundle_outdir = ${pre}`), { repackAll: 'full' });
  t.same(res.errors, []);
  const bundles = readdirSync(pre).filter((f) => f.endsWith('.bundle'));
  t.equal(bundles.length, 1, `one forkgroup, one preload bundle: ${bundles.join(', ')}`);

  const origin = await startTestOrigin(t, top, { extra: `preload_bundle_dir = ${pre}\n` });
  const name = bundles[0]!.replace(/\.bundle$/, '');
  t.equal((await get(`${origin.url}/_grok/preload/${name}.bundle`)).status, 200);
  const mirror = path.join(dir, 'mirror');
  const config = replicaConfig(mirror, origin.url);
  const pulled = await pull({ ...config, remote: { ...config.remote, preload_bundle_url: `${origin.url}/_grok/preload` } });
  t.same(pulled.failed, []);
  t.equal(pulled.cloned.length, 3);
  const mobst = path.join(mirror, 'objstore', `${name}.git`);
  t.not(refsOf(mobst, 'refs/preload/'), '', 'the replica objstore was seeded from the bundle grok-origin served');
  for (const r of ['linux.git', 'users/alice/linux.git', 'users/bob/linux.git']) {
    t.equal(refsOf(path.join(mirror, r)), refsOf(path.join(top, r)), `${r}: same refs as the origin`);
    t.ok(fsckOk(path.join(mirror, r)).ok, `${r}: git fsck`);
  }
  t.ok(fsckOk(mobst).ok, 'objstore: git fsck');
});
