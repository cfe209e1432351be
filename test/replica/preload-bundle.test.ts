import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import t from 'tap';
import { writePreloadBundle } from '../../shared/fsck/bundle.js';
import { Git } from '../../shared/git/index.js';
import { acquireLock, lockPathFor } from '../../shared/lock.js';
import { addMember, borrowFrom, createObjstore, fetchMember, readMembers } from '../../shared/objstore/index.js';
import { virtrefFor } from '../../shared/objstore/virtref.js';
import { preloadObjstore } from '../../replica/execute/preload-bundle.js';
import { fsckOk, git, makeRepo, pushCommit } from '../helpers/git.js';
import { runM } from '../helpers/manifest.js';
import { startTestOrigin } from '../helpers/origin.js';
import { pull, replicaConfig } from '../helpers/replica.js';
import { tmpDir } from '../helpers/tmp.js';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

const refsOf = (repo: string, prefix = '') => git([`--git-dir=${repo}`, 'for-each-ref', '--format=%(objectname) %(refname)', ...(prefix ? [prefix] : [])]);
const ownObjects = (repo: string) => {
  const info = Object.fromEntries(git([`--git-dir=${repo}`, 'count-objects', '-v']).split('\n').map((l) => l.split(': ') as [string, string]));
  return Number(info.count) + Number(info['in-pack']);
};
const FORKS = ['alice', 'bob', 'private/dave'];
const REPOS = ['linux.git', ...FORKS.map((u) => `users/${u}/linux.git`)];

/** A static file server on 127.0.0.1 (what a CDN in front of preload_bundle_outdir is), logging requests. */
async function serveFiles(t: Teardown, root: string): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    // Under /chunked/ the same files without a Content-Length, as a server streaming them would send.
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const chunked = urlPath.startsWith('/chunked/');
    const file = path.join(root, chunked ? urlPath.slice('/chunked'.length) : urlPath);
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, chunked ? {} : { 'content-length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/**
 * An origin with one forkgroup ("net1": linux.git and three forks, one of them private), its objstore
 * made with grok-fsck's code, and that objstore's preload bundle in `<dir>/www/bundles/`. One fork
 * gets a commit after the bundle was written, as happens between two fsck runs.
 */
async function originWithBundle(t: Teardown, dir: string) {
  const top = path.join(dir, 'origin');
  const up = path.join(top, 'linux.git');
  makeRepo(up, { commits: 30 });
  const forks = FORKS.map((u) => path.join(top, `users/${u}/linux.git`));
  for (const f of forks) {
    git(['clone', '-q', '--bare', up, f]);
    pushCommit(f, { branch: `${path.basename(path.dirname(f))}-work` });
  }
  const g = new Git();
  const obst = path.join(top, 'objstore', 'net1.git');
  await createObjstore(g, obst);
  await runM(top, path.join(top, 'manifest.js.gz'));
  for (const r of [up, ...forks]) {
    if (!r.includes('/private/')) {
      await addMember(g, obst, r);
      await fetchMember(g, obst, r);
    }
    await borrowFrom(r, obst);
  }
  const www = path.join(dir, 'www');
  const written = await writePreloadBundle(g, obst, 'net1', path.join(www, 'bundles'));
  if (written.status !== 'written') throw new Error(`no bundle written: ${JSON.stringify(written)}`);
  const late = pushCommit(path.join(top, 'users/alice/linux.git'), { branch: 'after-the-bundle' });
  await runM(top, path.join(top, 'manifest.js.gz'), { purge: true });
  const origin = await startTestOrigin(t, top);
  const files = await serveFiles(t, www);
  return { top, up, obst, origin, files, late };
}

function replica(dir: string, site: string, bundleUrl: string) {
  const config = replicaConfig(path.join(dir, 'mirror'), site);
  return { ...config, core: { ...config.core, private: ['*/private/*'] }, remote: { ...config.remote, preload_bundle_url: bundleUrl } };
}

t.test('a new replica fills a forkgroup objstore from the preload bundle, then fetches only what it lacked', async (t) => {
  const dir = tmpDir(t);
  const o = await originWithBundle(t, dir);
  const mirror = path.join(dir, 'mirror');
  const res = await pull(replica(dir, o.origin.url, `${o.files.url}/bundles/`));
  t.same(res.failed, []);
  t.equal(res.cloned.length, 4);
  t.same(o.files.requests, ['/bundles/net1.bundle'], 'the bundle was downloaded once, by the forkgroup\'s first clone');

  const mobst = path.join(mirror, 'objstore', 'net1.git');
  const preloaded = refsOf(mobst, 'refs/preload/');
  t.equal(preloaded, refsOf(o.obst).replace(/ refs\//g, ' refs/preload/'), 'every ref of the origin objstore is kept under refs/preload/');
  t.notOk(readdirSync(path.join(mirror, 'objstore')).some((f) => f.includes('grok-preload')), 'no temp objstore or bundle left beside it');
  for (const r of REPOS) {
    t.equal(readFileSync(path.join(mirror, r, 'objects/info/alternates'), 'utf8').trim(), path.join(mobst, 'objects'), `${r} borrows from it`);
  }
  // Even the first clone (the upstream, holding all 30 commits) fetched next to nothing of its own.
  const own = REPOS.map((r) => ownObjects(path.join(mirror, r)));
  t.ok(own.every((n) => n <= 6), `the clones hold only what the bundle lacked: ${own.join(', ')} objects (the upstream has ${ownObjects(o.up)})`);
  t.ok(ownObjects(path.join(mirror, 'users/alice/linux.git')) >= 3, 'alice fetched her commit made after the bundle');

  // The replica's own members joined as usual, beside the preloaded refs; the private fork did not.
  const members = await readMembers(mobst);
  t.same(members.sort(), ['linux.git', 'users/alice/linux.git', 'users/bob/linux.git'].map((r) => path.join(mirror, r)).sort());
  const alice = virtrefFor(path.join(mirror, 'users/alice/linux.git'));
  t.equal(git([`--git-dir=${mobst}`, 'rev-parse', `refs/virtual/${alice}/heads/after-the-bundle`]), o.late);
  t.equal(git([`--git-dir=${mobst}`, 'config', 'pack.island']), 'refs/virtual/([0-9a-f]+)/', 'an objstore like any other');

  for (const r of REPOS) {
    t.equal(refsOf(path.join(mirror, r)), refsOf(path.join(o.top, r)), `${r}: same refs as the origin`);
    const f = fsckOk(path.join(mirror, r));
    t.ok(f.ok, `${r}: git fsck (through alternates) ${f.output}`);
  }
  t.ok(fsckOk(mobst).ok, 'objstore: git fsck');
});

t.test('no bundle at the URL (404): the forkgroup is cloned the ordinary way', async (t) => {
  const dir = tmpDir(t);
  const o = await originWithBundle(t, dir);
  const mirror = path.join(dir, 'mirror');
  const res = await pull(replica(dir, o.origin.url, `${o.files.url}/elsewhere`));
  t.same(res.failed, []);
  t.equal(res.cloned.length, 4);
  t.same(o.files.requests, ['/elsewhere/net1.bundle'], 'asked once; after that a local sibling seeds the objstore');
  const mobst = path.join(mirror, 'objstore', 'net1.git');
  t.equal(refsOf(mobst, 'refs/preload/'), '', 'nothing preloaded');
  const own = REPOS.map((r) => ownObjects(path.join(mirror, r)));
  // The first clone fetched the whole history; it then seeded the objstore by joining it, so the
  // history sits in the objstore once and no clone keeps a copy.
  t.ok(ownObjects(mobst) >= 90, `the objstore holds the whole history (${ownObjects(mobst)} objects)`);
  t.ok(own.every((n) => n <= 6), `no clone keeps a copy of it: ${own.join(', ')}`);
  for (const r of REPOS) {
    t.equal(refsOf(path.join(mirror, r)), refsOf(path.join(o.top, r)), `${r}: same refs as the origin`);
    t.ok(fsckOk(path.join(mirror, r)).ok, `${r}: git fsck`);
  }
  t.ok(fsckOk(mobst).ok, 'objstore: git fsck');
});

t.test('an unusable bundle is a result, never a failed clone, and leaves nothing behind', async (t) => {
  const dir = tmpDir(t);
  const o = await originWithBundle(t, dir);
  const www = path.join(dir, 'www');
  mkdirSync(path.join(www, 'junk'));
  writeFileSync(path.join(www, 'junk', 'net1.bundle'), 'this is not a bundle\n');
  const g = new Git();
  const store = path.join(dir, 'store');
  const obst = path.join(store, 'net1.git');
  const nothingLeft = () => t.same(readdirSync(store).filter((f) => !f.endsWith('.lock')), [], 'no objstore, no temp files');

  // Leftovers of a preload that was killed are cleared by the next one.
  mkdirSync(path.join(store, '.net1.git.grok-preload-0badcafe'), { recursive: true });
  writeFileSync(path.join(store, '.net1.git.grok-preload-0badcafe.bundle'), 'partial');
  const junk = await preloadObjstore(g, obst, 'net1', `${o.files.url}/junk`);
  t.equal(junk.status, 'failed');
  t.match(junk.status === 'failed' ? junk.reason : '', /bundle/);
  nothingLeft();

  // The size cap, whether the server announces the size or not.
  for (const where of ['bundles', 'chunked/bundles']) {
    const capped = await preloadObjstore(g, obst, 'net1', `${o.files.url}/${where}`, { maxBytes: 1000 });
    t.match(capped, { status: 'failed', reason: /size cap/ }, `${where}: over the cap`);
    nothingLeft();
  }
  t.match(await preloadObjstore(g, obst, 'net1', `file://${www}/bundles`), { status: 'failed', reason: /http\(s\) only/ });
  t.same(await preloadObjstore(g, obst, 'net1', `${o.files.url}/nothing-here`), { status: 'absent' });
  nothingLeft();

  const held = await acquireLock(lockPathFor(obst));
  t.same(await preloadObjstore(g, obst, 'net1', `${o.files.url}/bundles`), { status: 'busy' }, 'someone else is making it: no waiting');
  await held.release();
  t.equal((await preloadObjstore(g, obst, 'net1', `${o.files.url}/bundles`)).status, 'preloaded');
  t.same(await preloadObjstore(g, obst, 'net1', `${o.files.url}/bundles`), { status: 'exists' });
  t.ok(fsckOk(obst).ok, 'the preloaded objstore: git fsck');

  // The whole pull with the junk bundle: every repository cloned, as without a bundle.
  const res = await pull(replica(dir, o.origin.url, `${o.files.url}/junk`));
  t.same(res.failed, []);
  t.equal(res.cloned.length, 4);
  for (const r of REPOS) t.ok(fsckOk(path.join(dir, 'mirror', r)).ok, `${r}: git fsck`);
  t.ok(fsckOk(path.join(dir, 'mirror', 'objstore', 'net1.git')).ok, 'objstore: git fsck');
});
