import { spawn } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { makeGrokmirrorFixture } from '../../helpers/fixture.js';
import { fsckOk, GIT_ENV, gitDir, makeRepo, pushCommit } from '../../helpers/git.js';
import { rawRequest, startTestOrigin } from '../../helpers/origin.js';
import { tmpDir } from '../../helpers/tmp.js';
import { pktLine as pkt } from '../../../shared/git/pkt-line.js';

/** git as a child process, asynchronously: the server answering it runs in this same process. */
function gitIn(args: string[], cwd?: string): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('git', args, { env: GIT_ENV, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('close', (status) => resolve({ status, stderr }));
  });
}

t.test('clone and fetch over smart HTTP, protocol v0 and v2', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeGrokmirrorFixture(top);
  const origin = await startTestOrigin(t, top);
  for (const version of ['0', '2']) {
    const clone = path.join(dir, `clone-v${version}.git`);
    const r = await gitIn(['-c', `protocol.version=${version}`, 'clone', '-q', '--mirror', `${origin.url}/pub/described.git`, clone]);
    t.equal(r.status, 0, `v${version} clone: ${r.stderr}`);
    t.equal(gitDir(clone, ['rev-parse', 'refs/heads/dev']), gitDir(path.join(top, 'pub/described.git'), ['rev-parse', 'refs/heads/dev']));
    const sha = pushCommit(path.join(top, 'pub/described.git'), { branch: `new-v${version}` });
    const f = await gitIn(['-c', `protocol.version=${version}`, `--git-dir=${clone}`, 'fetch', '-q', 'origin']);
    t.equal(f.status, 0, `v${version} fetch: ${f.stderr}`);
    t.equal(gitDir(clone, ['rev-parse', `refs/heads/new-v${version}`]), sha, `v${version} fetch brought the new branch`);
    t.ok(fsckOk(clone).ok, `v${version} clone passes git fsck`);
  }
  const alias = await gitIn(['clone', '-q', '--bare', `${origin.url}/alias.git`, path.join(dir, 'alias.git')]);
  t.equal(alias.status, 0, 'a symlink to a listed repo is served');
  const fork = await gitIn(['clone', '-q', '--bare', `${origin.url}/forks/fork1.git`, path.join(dir, 'fork1.git')]);
  t.equal(fork.status, 0, 'a repo borrowing objects through alternates is served whole');
  t.ok(fsckOk(path.join(dir, 'fork1.git')).ok);
});

t.test('concurrent clones all complete', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'big.git'), { commits: 40 });
  const origin = await startTestOrigin(t, top, { settings: { maxUploadPacks: 2 } });
  const clones = Array.from({ length: 8 }, (_, i) => path.join(dir, `c${i}.git`));
  const results = await Promise.all(clones.map((c) => gitIn(['clone', '-q', '--bare', `${origin.url}/big.git`, c])));
  t.same(results.map((r) => r.status), clones.map(() => 0), 'eight clones through two upload-pack slots');
  for (const c of clones) t.ok(fsckOk(c).ok);
});

t.test('nothing outside the manifest is served; never receive-pack, never dumb HTTP', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeGrokmirrorFixture(top);
  makeRepo(path.join(dir, 'outside.git'));
  mkdirSync(path.join(top, 'pub/deep'), { recursive: true });
  symlinkSync(path.join(dir, 'outside.git'), path.join(top, 'pub/deep/escape.git'));
  const origin = await startTestOrigin(t, top);
  const refs = (p: string) => `${p}/info/refs?service=git-upload-pack`;
  const notFound = [
    refs('/empty.git'),
    refs('/pub/../plain.git'),
    refs('/pub/%2e%2e/plain.git'),
    refs('/pub/%2E%2E/%2e%2e/outside.git'),
    refs('/..%2f..%2foutside.git'),
    refs('//etc'),
    refs(path.join(dir, 'outside.git')),
    refs('/pub/deep/escape.git'),
    refs('/objstore'),
    refs('/nosuch.git'),
    '/pub/described.git/HEAD',
    '/pub/described.git/objects/info/packs',
    '/pub/described.git/config',
  ];
  // sent byte for byte: clients (and inject) would normalise the dot segments away first
  for (const url of notFound) t.equal((await rawRequest(origin.url, url)).status, 404, url);
  t.equal((await origin.app.inject({ url: '/pub/described.git/info/refs' })).statusCode, 403, 'dumb HTTP refused');
  t.equal((await origin.app.inject({ url: '/pub/described.git/info/refs?service=git-receive-pack' })).statusCode, 403);
  t.equal((await origin.app.inject({ method: 'POST', url: '/pub/described.git/git-receive-pack', headers: { 'content-type': 'application/x-git-receive-pack-request' }, payload: '0000' })).statusCode, 403);
  t.equal((await origin.app.inject({ url: '/pub/%zz.git/info/refs?service=git-upload-pack' })).statusCode, 400, 'bad escapes');
  const push = await gitIn(['push', `${origin.url}/plain.git`, 'HEAD:refs/heads/evil'], undefined);
  t.not(push.status, 0, 'git push fails');
  t.equal((await gitIn([`--git-dir=${path.join(top, 'plain.git')}`, 'rev-parse', '--verify', '-q', 'refs/heads/evil'])).status, 1, 'nothing was pushed');
  const badProto = await origin.app.inject({ url: refs('/plain.git'), headers: { 'git-protocol': 'version=2\n--upload-pack=x' } });
  t.equal(badProto.statusCode, 400, 'a hostile Git-Protocol header is refused');
});

t.test('gzip request bodies and protocol v2 commands', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  const sha = makeRepo(path.join(top, 'r.git'));
  const origin = await startTestOrigin(t, top);
  const lsRefs = pkt('command=ls-refs\n') + '0001' + pkt('peel\n') + '0000';
  for (const gz of [false, true]) {
    const r = await origin.app.inject({
      method: 'POST',
      url: '/r.git/git-upload-pack',
      headers: { 'content-type': 'application/x-git-upload-pack-request', 'git-protocol': 'version=2', ...(gz ? { 'content-encoding': 'gzip' } : {}) },
      payload: gz ? gzipSync(lsRefs) : lsRefs,
    });
    t.equal(r.statusCode, 200);
    t.match(r.payload, new RegExp(`${sha} refs/heads/master`), `ls-refs answered (${gz ? 'gzip' : 'plain'} body)`);
  }
  const ad = await origin.app.inject({ url: '/r.git/info/refs?service=git-upload-pack', headers: { 'git-protocol': 'version=2' } });
  t.match(ad.payload, /^000eversion 2\n/, 'v2 advertisement without the "# service" line');
  const v0 = await origin.app.inject({ url: '/r.git/info/refs?service=git-upload-pack' });
  t.match(v0.payload, /^001e# service=git-upload-pack\n0000/);
  t.equal(v0.headers['content-type'], 'application/x-git-upload-pack-advertisement');
  const wrongType = await origin.app.inject({ method: 'POST', url: '/r.git/git-upload-pack', headers: { 'content-type': 'text/plain' }, payload: '0000' });
  t.equal(wrongType.statusCode, 415);
});
