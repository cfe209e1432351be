import { chmodSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import t from 'tap';
import { silentLogger } from '../../shared/log.js';
import { fetchCommandManifest } from '../../replica/source/command-source.js';
import { fetchHttpManifest } from '../../replica/source/http-source.js';
import { parseNetrc } from '../../replica/source/netrc.js';
import { shellWords } from '../../shared/shell-words.js';
import { tmpDir } from '../helpers/tmp.js';

const req = { previous: {}, force: false, maxBytes: 1 << 20 };
/** A fetched body's JSON text: gzip bytes are kept compressed until the manifest is read. */
const textOf = (json: Buffer | { raw: Buffer }) => (Buffer.isBuffer(json) ? json : gunzipSync(json.raw)).toString();
const manifest = JSON.stringify({ '/a.git': { modified: 1, fingerprint: 'a'.repeat(40), head: null, reference: null } });

t.test('netrc: machine, default, macdef skipped', async (t) => {
  const text = 'machine other.example login o password p\nmacdef init\ncd /x\n\nmachine git.example.org\n  login mirror\n  password s3cret\ndefault login anon password x\n';
  t.same(parseNetrc(text, 'git.example.org'), { login: 'mirror', password: 's3cret' });
  t.same(parseNetrc(text, 'elsewhere'), { login: 'anon', password: 'x' });
  t.equal(parseNetrc('machine a login b', 'c'), null);
});

t.test('shell-like splitting for commands and hooks', async (t) => {
  t.same(shellWords(`/usr/bin/get "a b" 'c d' e\\ f ~/x`, '/home/m'), ['/usr/bin/get', 'a b', 'c d', 'e f', '/home/m/x']);
  t.same(shellWords(`say "it's \\"quoted\\""`), ['say', `it's "quoted"`]);
  t.throws(() => shellWords(`broken "quote`), { code: 'GROK_ERR_CONFIG_VALUE' });
});

t.test('manifest_command: exit 0 gives the manifest, 127 unchanged, 1 an error, --force when forced', async (t) => {
  const dir = tmpDir(t);
  const script = path.join(dir, 'get-manifest');
  writeFileSync(script, `#!/bin/sh\necho "$*" > ${dir}/args\ncase "$MODE" in\n  ok) cat ${dir}/m.json ;;\n  same) exit 127 ;;\n  fail) echo "gitolite says no"; exit 1 ;;\n  odd) exit 3 ;;\nesac\n`);
  chmodSync(script, 0o755);
  writeFileSync(path.join(dir, 'm.json'), manifest);
  const log = silentLogger();
  process.env.MODE = 'ok';
  const ok = await fetchCommandManifest(`${script} --flag`, { ...req, force: true }, log);
  t.equal(ok.status, 'fetched');
  t.equal((await import('node:fs')).readFileSync(path.join(dir, 'args'), 'utf8').trim(), '--flag --force');
  process.env.MODE = 'same';
  t.same(await fetchCommandManifest(script, req, log), { status: 'unchanged' });
  process.env.MODE = 'fail';
  await t.rejects(fetchCommandManifest(script, req, log), { message: /manifest_command failed: gitolite says no/ });
  process.env.MODE = 'odd';
  t.same(await fetchCommandManifest(script, req, log), { status: 'unchanged' }, 'other codes: a warning, treated as unchanged');
  delete process.env.MODE;
});

t.test('http: retries 5xx, accepts a 200 without Last-Modified, no double decoding, conditional requests', async (t) => {
  let hits = 0;
  const seen: IncomingMessage['headers'][] = [];
  const server = createServer((rq, res) => {
    seen.push(rq.headers);
    hits++;
    if (rq.url === '/flaky.js' && hits <= 2) return void res.writeHead(503).end();
    if (rq.url === '/flaky.js') return void res.writeHead(200).end(manifest);
    if (rq.url === '/encoded.js.gz') return void res.writeHead(200, { 'content-encoding': 'gzip', etag: '"e1"' }).end(gzipSync(manifest));
    if (rq.url === '/plain.js.gz') {
      if (rq.headers['if-none-match'] === '"p1"') return void res.writeHead(304).end();
      return void res.writeHead(200, { etag: '"p1"', 'last-modified': 'Sat, 21 Nov 2026 10:00:00 GMT' }).end(gzipSync(manifest));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const deps = { sleep: async () => {}, credentials: () => null };
  const flaky = await fetchHttpManifest(`${base}/flaky.js`, req, deps);
  t.equal(flaky.status, 'fetched', 'after two 503s');
  t.same(flaky.status === 'fetched' && flaky.validators, {}, 'no Last-Modified is fine');
  const enc = await fetchHttpManifest(`${base}/encoded.js.gz`, req, deps);
  t.equal(enc.status === 'fetched' && textOf(enc.json), manifest, 'Content-Encoding applied by the server: decoded once');
  const plain = await fetchHttpManifest(`${base}/plain.js.gz`, req, deps);
  t.equal(plain.status === 'fetched' && textOf(plain.json), manifest, '.gz without Content-Encoding: gunzipped');
  const again = await fetchHttpManifest(`${base}/plain.js.gz`, { ...req, previous: plain.status === 'fetched' ? plain.validators : {} }, deps);
  t.same(again, { status: 'unchanged' });
  t.equal(seen[seen.length - 1]!['if-modified-since'], 'Sat, 21 Nov 2026 10:00:00 GMT');
  await t.rejects(fetchHttpManifest(`${base}/missing.js`, req, deps), { message: /server answered 404/ });
  await t.rejects(fetchHttpManifest('http://127.0.0.1:9/m.js', req, deps), { message: /cannot fetch the manifest: .*after 3 attempts/ });
  const withCreds = await fetchHttpManifest(`${base}/flaky.js`, req, { ...deps, credentials: () => ({ login: 'u', password: 'p' }) });
  t.equal(withCreds.status, 'fetched');
  t.equal(seen[seen.length - 1]!.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`, 'netrc credentials are sent');
});
