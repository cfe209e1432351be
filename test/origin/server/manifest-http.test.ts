import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { makeGrokmirrorFixture, expectedManifest } from '../../helpers/fixture.js';
import { makeRepo, pushCommit } from '../../helpers/git.js';
import { startTestOrigin } from '../../helpers/origin.js';
import { tmpDir } from '../../helpers/tmp.js';

t.test('conditional GET matrix for /manifest.js.gz and /manifest.js', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeGrokmirrorFixture(top);
  const origin = await startTestOrigin(t, top);
  const app = origin.app;
  const first = await app.inject({ url: '/manifest.js.gz' });
  t.equal(first.statusCode, 200);
  t.equal(first.headers['content-type'], 'application/gzip');
  t.notOk(first.headers['content-encoding'], 'no Content-Encoding on the .gz file');
  const etag = first.headers.etag as string;
  const lm = first.headers['last-modified'] as string;
  t.match(etag, /^"[0-9a-f]{40}"$/, 'strong ETag');
  const doc = JSON.parse(gunzipSync(first.rawPayload).toString('utf8')) as Record<string, unknown>;
  const want = expectedManifest('manifest.expected.json');
  t.same(doc, want, 'grokmirror\'s own manifest content');
  t.same(first.rawPayload, readFileSync(path.join(top, 'manifest.js.gz')), 'served bytes are the file');

  const rows: [string, Record<string, string>, number][] = [
    ['matching If-None-Match', { 'if-none-match': etag }, 304],
    ['If-None-Match in a list', { 'if-none-match': `"nope", ${etag}` }, 304],
    ['If-None-Match *', { 'if-none-match': '*' }, 304],
    ['other If-None-Match', { 'if-none-match': '"other"' }, 200],
    ['weak-compare mismatch', { 'if-none-match': `W/${etag}` }, 200],
    ['If-Modified-Since = Last-Modified', { 'if-modified-since': lm }, 304],
    ['If-Modified-Since later', { 'if-modified-since': new Date(Date.parse(lm) + 60_000).toUTCString() }, 304],
    ['If-Modified-Since earlier', { 'if-modified-since': new Date(Date.parse(lm) - 1000).toUTCString() }, 200],
    ['If-Modified-Since garbage', { 'if-modified-since': 'yesterday-ish' }, 200],
    ['If-None-Match wins over If-Modified-Since', { 'if-none-match': '"other"', 'if-modified-since': lm }, 200],
  ];
  for (const [name, headers, status] of rows) {
    const r = await app.inject({ url: '/manifest.js.gz', headers });
    t.equal(r.statusCode, status, name);
    if (status === 304) t.equal(r.rawPayload.length, 0, `${name}: no body`);
  }
  const head = await app.inject({ method: 'HEAD', url: '/manifest.js.gz' });
  t.equal(head.statusCode, 200);
  t.equal(Number(head.headers['content-length']), first.rawPayload.length, 'HEAD gives the real length');
  t.equal(head.rawPayload.length, 0);
  const plain = await app.inject({ url: '/manifest.js' });
  t.match(plain.headers['content-type'], /application\/json/);
  t.same(JSON.parse(plain.payload), want);
  t.not(plain.headers.etag, etag);
  t.equal((await app.inject({ url: '/manifest.js', headers: { 'if-none-match': plain.headers.etag as string } })).statusCode, 304);

  // a change: the old validators stop matching, and Last-Modified moves on even within the same second
  pushCommit(path.join(top, 'plain.git'));
  const n = await app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/plain.git'] } });
  t.equal(n.statusCode, 200, n.payload);
  const after = await app.inject({ url: '/manifest.js.gz', headers: { 'if-none-match': etag } });
  t.equal(after.statusCode, 200);
  t.not(after.headers.etag, etag);
  t.equal((await app.inject({ url: '/manifest.js.gz', headers: { 'if-modified-since': lm } })).statusCode, 200, 'If-Modified-Since sees the change');
  t.ok(Date.parse(after.headers['last-modified'] as string) > Date.parse(lm), 'a later Last-Modified than any served before');
});

t.test('the file on disk is a multi-member gzip that Python (grokmirror) reads whole', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  for (let i = 0; i < 30; i++) makeRepo(path.join(top, `r${i}.git`), { date: 1_600_000_000 + i });
  const origin = await startTestOrigin(t, top);
  pushCommit(path.join(top, 'r7.git'), { date: 1_700_000_007 });
  await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: [path.join(top, 'r7.git')] } });
  const py = 'import gzip,json,sys; m=json.loads(gzip.open(sys.argv[1]).read()); print(len(m), m["/r7.git"]["modified"])';
  t.equal(execFileSync('python3', ['-c', py, path.join(top, 'manifest.js.gz')], { encoding: 'utf8' }).trim(), '30 1700000007');
});
