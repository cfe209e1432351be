/**
 * Issue 8, hostile HTTP: the real grok-origin command, on 127.0.0.1, fed traversal paths, requests for
 * what it must not serve, oversized headers and bodies, broken pkt-line input, pushes, 20 clones at
 * once and 500 idle connections. Every request must get a clean refusal (or a clean close), the
 * server must keep answering and stay within a memory bound (VmRSS of the child process), and at
 * the end still serve a correct clone. Limits that take minutes or hundreds of MB to reach with the
 * defaults (a stalled body against the request timeout, a streamed body over the upload-pack limit)
 * are checked against an in-process origin started with small ones.
 */
import { spawn } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { rng, seedFor } from '../helpers/seeded.js';
import { fsckOk, git, GIT_ENV, gitDir, makeRepo } from '../helpers/git.js';
import { startTestOrigin } from '../helpers/origin.js';
import { CaseTable } from '../helpers/case-table.js';
import { startOriginProcess } from '../helpers/origin-process.js';
import { waitFor } from '../helpers/status-daemon.js';
import { tmpDir } from '../helpers/tmp.js';
import { pktLine as pkt } from '../../shared/git/pkt-line.js';

const SEED = seedFor(20_251_121);
const RSS_CEILING_KB = 300 * 1024;

interface Exchange {
  /** 0 when no status line came back. */
  readonly status: number;
  readonly text: string;
  /** The server closed the connection (rather than our timeout). */
  readonly closedByServer: boolean;
}

/** Sends bytes as they are (no client normalises the path) and reads until the server closes or `timeoutMs`. */
function exchange(port: number, request: string | Buffer, timeoutMs = 10_000): Promise<Exchange> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let text = '';
    let timedOut = false;
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => (text += d));
    sock.on('error', () => {});
    const timer = setTimeout(() => {
      timedOut = true;
      sock.destroy();
    }, timeoutMs);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text, closedByServer: !timedOut });
    });
    sock.write(request);
  });
}

const get = (p: string, headers = '') => `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${headers}\r\n`;
const post = (p: string, body: string | Buffer, headers = 'Content-Type: application/x-git-upload-pack-request\r\n') =>
  Buffer.concat([Buffer.from(`POST ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`), Buffer.from(body)]);
const refsUrl = (p: string) => `${p}/info/refs?service=git-upload-pack`;

/** git as a child process: the servers answer in this process or another one. */
function gitAsync(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('git', args, { env: GIT_ENV, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('close', (status) => resolve({ status, stderr }));
  });
}

const refsOf = (repo: string) => gitDir(repo, ['for-each-ref', '--format=%(objectname) %(refname)']);
const firstLine = (e: Exchange) => {
  const body = e.text.split('\r\n\r\n').slice(1).join('\r\n\r\n');
  const shown = body.replace(/[\u0000-\u001f]+/g, ' ').trim().slice(0, 90);
  return `${e.status || (e.closedByServer ? 'closed' : 'no answer')}${shown ? ` "${shown}"` : ''}`;
};

const table = new CaseTable('hostile-http', 'Hostile HTTP against grok-origin');

t.test('hostile HTTP against grok-origin', async (t) => {
  const started = performance.now();
  const rnd = rng(SEED);
  t.comment(`seed ${SEED} (set GROK_SEED to repeat another)`);
  const dir = tmpDir(t, 'grok-hostile-http-');
  const top = path.join(dir, 'top');
  const repo = path.join(top, 'pub/r.git');
  makeRepo(repo, { commits: 40 });
  writeFileSync(path.join(repo, 'git-daemon-export-ok'), '');
  makeRepo(path.join(top, 'private.git'), { commits: 1 });
  makeRepo(path.join(top, 'objstore/fg.git'), { commits: 1 });
  writeFileSync(path.join(top, 'objstore/fg.git/grokmirror.objstore'), '');
  writeFileSync(path.join(top, 'objstore/fg.git/git-daemon-export-ok'), '');
  makeRepo(path.join(dir, 'outside.git'), { commits: 1 });
  writeFileSync(path.join(dir, 'outside.git/git-daemon-export-ok'), '');
  symlinkSync(path.join(dir, 'outside.git'), path.join(top, 'pub/escape.git'));
  symlinkSync(repo, path.join(top, 'pub/alias.git'));
  const conf = path.join(dir, 'origin.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${top}\nmanifest = ${path.join(top, 'manifest.js.gz')}\n[manifest]\ncheck_export_ok = yes\n[origin]\nnotify_max_size = 64K\n`);
  const origin = await startOriginProcess(conf, { t, args: ['--listen', '127.0.0.1:0'] });
  const rss: [string, number][] = [['after start', origin.rssKb()]];
  // Made after the manifest: on disk and exported, but never announced.
  makeRepo(path.join(top, 'late.git'), { commits: 1 });
  writeFileSync(path.join(top, 'late.git/git-daemon-export-ok'), '');
  const expectedRefs = refsOf(repo);

  interface RequestCase {
    readonly name: string;
    readonly expected: string;
    readonly request: () => string | Buffer;
    /** Statuses that count as the expected clean answer; 0 = the server closed the connection without one. */
    readonly ok: readonly number[];
    /** The body must match (for in-band git errors). */
    readonly body?: RegExp;
  }
  const cases: RequestCase[] = [
    { name: 'control: advertisement of a listed, exported repository', expected: '200', request: () => get(refsUrl('/pub/r.git')), ok: [200], body: /# service=git-upload-pack/ },
    { name: 'control: a symlink to a listed repository', expected: '200 (served as that repository)', request: () => get(refsUrl('/pub/alias.git')), ok: [200] },
    { name: 'traversal /pub/../pub/r.git', expected: '404', request: () => get(refsUrl('/pub/../pub/r.git')), ok: [404] },
    { name: 'traversal /pub/../../outside.git', expected: '404', request: () => get(refsUrl('/pub/../../outside.git')), ok: [404] },
    { name: 'encoded dots /pub/%2e%2e/pub/r.git', expected: '404', request: () => get(refsUrl('/pub/%2e%2e/pub/r.git')), ok: [404] },
    { name: 'encoded dots upper case /%2E%2E/%2E%2E/outside.git', expected: '404', request: () => get(refsUrl('/%2E%2E/%2E%2E/outside.git')), ok: [404] },
    { name: 'encoded slashes /..%2f..%2foutside.git', expected: '404', request: () => get(refsUrl('/..%2f..%2foutside.git')), ok: [404] },
    { name: 'encoded slash inside a listed path /pub%2fr.git', expected: '200 for the same listed repository (%2f decodes to "/"), or 404', request: () => get(refsUrl('/pub%2fr.git')), ok: [200, 404] },
    { name: 'double encoding /pub/%252e%252e/pub/r.git', expected: '404', request: () => get(refsUrl('/pub/%252e%252e/pub/r.git')), ok: [404] },
    { name: 'double-encoded slash /..%252f..%252foutside.git', expected: '404', request: () => get(refsUrl('/..%252f..%252foutside.git')), ok: [404] },
    { name: 'backslashes /pub\\..\\..\\outside.git', expected: '404 or 400', request: () => get(refsUrl('/pub\\..\\..\\outside.git')), ok: [400, 404] },
    { name: 'encoded backslashes /pub%5c..%5c..%5coutside.git', expected: '404', request: () => get(refsUrl('/pub%5c..%5c..%5coutside.git')), ok: [404] },
    { name: 'NUL /pub/r.git%00', expected: '404', request: () => get(refsUrl('/pub/r.git%00')), ok: [404] },
    { name: 'NUL and traversal /pub/r.git%00/../../outside.git', expected: '404', request: () => get(refsUrl('/pub/r.git%00/../../outside.git')), ok: [404] },
    { name: 'raw NUL byte in the request line', expected: '400 or a clean close', request: () => get(refsUrl('/pub/r.git\u0000')), ok: [400, 0] },
    { name: 'overlong UTF-8 dots %c0%ae%c0%ae', expected: '400 (bad encoding)', request: () => get(refsUrl('/%c0%ae%c0%ae/outside.git')), ok: [400] },
    { name: 'overlong UTF-8 slash %c0%af', expected: '400 (bad encoding)', request: () => get(refsUrl('/pub%c0%af..%c0%af..%c0%afoutside.git')), ok: [400] },
    { name: 'three-byte overlong dot %e0%80%ae', expected: '400 (bad encoding)', request: () => get(refsUrl('/%e0%80%ae%e0%80%ae/outside.git')), ok: [400] },
    { name: 'bare % escape /pub/%zz.git', expected: '400 (bad encoding)', request: () => get(refsUrl('/pub/%zz.git')), ok: [400] },
    { name: 'empty segment //pub/r.git', expected: '404', request: () => get(refsUrl('//pub/r.git')), ok: [404] },
    { name: 'dot segment /pub/./r.git', expected: '404', request: () => get(refsUrl('/pub/./r.git')), ok: [404] },
    { name: 'trailing slash /pub/r.git/', expected: '404', request: () => get(refsUrl('/pub/r.git/')), ok: [404] },
    { name: 'absolute path of a repository outside', expected: '404', request: () => get(refsUrl(path.join(dir, 'outside.git'))), ok: [404] },
    { name: 'symlink under the toplevel to a repository outside', expected: '404', request: () => get(refsUrl('/pub/escape.git')), ok: [404] },
    { name: 'absolute-form request target http://x/../outside.git', expected: '404 or 400', request: () => get(`http://127.0.0.1${refsUrl('/../outside.git')}`), ok: [400, 404] },
    { name: 'request target without a leading slash', expected: '400', request: () => get(refsUrl('../outside.git')), ok: [400] },
    { name: 'dumb HTTP file /pub/r.git/HEAD', expected: '404', request: () => get('/pub/r.git/HEAD'), ok: [404] },
    { name: 'dumb HTTP file /pub/r.git/config', expected: '404', request: () => get('/pub/r.git/config'), ok: [404] },
    { name: 'dumb HTTP /pub/r.git/objects/info/packs', expected: '404', request: () => get('/pub/r.git/objects/info/packs'), ok: [404] },
    { name: 'info/refs without ?service (dumb HTTP)', expected: '403', request: () => get('/pub/r.git/info/refs'), ok: [403] },
    { name: 'control: the manifest', expected: '200', request: () => get('/manifest.js.gz'), ok: [200] },
    { name: 'manifest through /../', expected: '404', request: () => get('/../manifest.js.gz'), ok: [404] },
    { name: 'manifest through %2e%2e', expected: '404', request: () => get('/%2e%2e/manifest.js.gz'), ok: [404] },
    { name: 'manifest through encoded slashes', expected: '404', request: () => get('/pub/..%2f..%2fmanifest.js.gz'), ok: [404] },
    { name: 'manifest with %00 appended', expected: '404', request: () => get('/manifest.js.gz%00'), ok: [404] },
    { name: 'manifest with /.. appended', expected: '404', request: () => get('/manifest.js.gz/..'), ok: [404] },
    { name: "the manifest's lock file", expected: '404', request: () => get('/.manifest.js.gz.lock'), ok: [404] },
    { name: 'an absolute path on the host', expected: '404', request: () => get('/etc/passwd'), ok: [404] },
    // --- what is not to be served
    { name: 'repository without git-daemon-export-ok (check_export_ok)', expected: '404', request: () => get(refsUrl('/private.git')), ok: [404] },
    { name: 'upload-pack POST to the unexported repository', expected: '404', request: () => post('/private.git/git-upload-pack', '0000'), ok: [404] },
    { name: 'objstore repository', expected: '404', request: () => get(refsUrl('/objstore/fg.git')), ok: [404] },
    { name: 'repository on disk but not in the manifest', expected: '404', request: () => get(refsUrl('/late.git')), ok: [404] },
    { name: 'repository that does not exist', expected: '404', request: () => get(refsUrl('/nosuch.git')), ok: [404] },
    // --- oversized
    { name: 'one 20 KB header (limit 16 KB)', expected: '431 or a clean close', request: () => get('/manifest.js.gz', `X-Big: ${'a'.repeat(20_000)}\r\n`), ok: [431, 0] },
    { name: '3000 small headers (40 KB in all)', expected: '431 or a clean close', request: () => get('/manifest.js.gz', Array.from({ length: 3000 }, (_, i) => `X-Header-${i}: value-${i}\r\n`).join('')), ok: [431, 0] },
    { name: 'a 20 KB request line', expected: '431, 414 or a clean close', request: () => get(`/${'a'.repeat(20_000)}`), ok: [431, 414, 0] },
    {
      name: 'notify body of 100 KB (notify_max_size 64K)',
      expected: '413',
      request: () => post('/_grok/notify', JSON.stringify({ paths: ['/pub/r.git'], pad: 'x'.repeat(100_000) }), 'Content-Type: application/json\r\n'),
      ok: [413],
    },
    {
      name: 'notify declaring a 10 GB body',
      expected: '413 before reading it',
      request: () => `POST /_grok/notify HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{"paths":`,
      ok: [413],
    },
    {
      name: 'upload-pack declaring a 300 MB body (limit 256 MiB)',
      expected: '413 before starting upload-pack',
      request: () => `POST /pub/r.git/git-upload-pack HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/x-git-upload-pack-request\r\nContent-Length: 300000000\r\n\r\n0000`,
      ok: [413],
    },
    // --- broken pkt-line input to upload-pack
    { name: 'upload-pack: random bytes', expected: '400 with git\'s message', request: () => post('/pub/r.git/git-upload-pack', Buffer.from(Array.from({ length: 512 }, () => Math.floor(rnd() * 256)))), ok: [400] },
    { name: 'upload-pack: length ffff with 4 bytes of data', expected: '400', request: () => post('/pub/r.git/git-upload-pack', 'ffff0000'), ok: [400] },
    {
      name: 'upload-pack: length 0002 (below the header size)',
      expected: "400, or git's own empty answer (0002 is protocol v2's response-end packet, which git takes as the end)",
      request: () => post('/pub/r.git/git-upload-pack', '0002'),
      ok: [200, 400],
    },
    { name: 'upload-pack: non-hex length', expected: '400', request: () => post('/pub/r.git/git-upload-pack', 'zzzzwant'), ok: [400] },
    { name: 'upload-pack: truncated pkt-line', expected: '400', request: () => post('/pub/r.git/git-upload-pack', '0032want 1234'), ok: [400] },
    { name: 'upload-pack: empty body', expected: '400', request: () => post('/pub/r.git/git-upload-pack', ''), ok: [400] },
    {
      name: 'upload-pack: want of a nonexistent sha',
      expected: 'a git error (ERR pkt-line) or 400',
      request: () => post('/pub/r.git/git-upload-pack', `${pkt(`want ${'1'.repeat(40)}\n`)}0000${pkt('done\n')}`),
      ok: [200, 400],
      body: /ERR upload-pack: not our ref|not our ref/,
    },
    {
      name: 'upload-pack: want of a malformed sha',
      expected: 'a git error or 400',
      request: () => post('/pub/r.git/git-upload-pack', `${pkt('want not-a-sha\n')}0000${pkt('done\n')}`),
      ok: [200, 400],
      body: /protocol error|ERR|expected/,
    },
    { name: 'upload-pack v2: unknown command', expected: '400', request: () => post('/pub/r.git/git-upload-pack', `${pkt('command=evil\n')}0000`, 'Content-Type: application/x-git-upload-pack-request\r\nGit-Protocol: version=2\r\n'), ok: [400] },
    {
      name: 'upload-pack v2: fetch wanting a nonexistent sha',
      expected: 'a git error or 400',
      request: () => post('/pub/r.git/git-upload-pack', `${pkt('command=fetch\n')}0001${pkt(`want ${'2'.repeat(40)}\n`)}${pkt('done\n')}0000`, 'Content-Type: application/x-git-upload-pack-request\r\nGit-Protocol: version=2\r\n'),
      ok: [200, 400],
      body: /not our ref|ERR/,
    },
    { name: 'upload-pack: Content-Encoding gzip on a body that is not gzip', expected: '400', request: () => post('/pub/r.git/git-upload-pack', 'not gzip at all', 'Content-Type: application/x-git-upload-pack-request\r\nContent-Encoding: gzip\r\n'), ok: [400] },
    { name: 'upload-pack: wrong content type', expected: '415', request: () => post('/pub/r.git/git-upload-pack', '0000', 'Content-Type: text/plain\r\n'), ok: [415] },
    { name: 'upload-pack: GET', expected: '405', request: () => get('/pub/r.git/git-upload-pack'), ok: [405] },
    { name: 'upload-pack: a hostile Git-Protocol header', expected: '400', request: () => get(refsUrl('/pub/r.git'), 'Git-Protocol: version=2\x0b--upload-pack=touch /tmp/x\r\n'), ok: [400] },
    // --- pushes
    { name: 'receive-pack advertisement', expected: '403', request: () => get('/pub/r.git/info/refs?service=git-receive-pack'), ok: [403] },
    { name: 'receive-pack POST', expected: '403', request: () => post('/pub/r.git/git-receive-pack', '0000', 'Content-Type: application/x-git-receive-pack-request\r\n'), ok: [403] },
    { name: 'receive-pack POST to a path not in the manifest', expected: '403 or 404', request: () => post('/nosuch.git/git-receive-pack', '0000', 'Content-Type: application/x-git-receive-pack-request\r\n'), ok: [403, 404] },
  ];

  await t.test('requests', async (t) => {
    for (const c of cases) {
      const e = await exchange(origin.port, c.request());
      const got = e.status === 0 && !e.closedByServer ? -1 : e.status;
      const body = e.text.split('\r\n\r\n').slice(1).join('\r\n\r\n');
      const ok = c.ok.includes(got) && (!c.body || c.body.test(body) || (got >= 400 && got < 500));
      const alive = !origin.proc.exited();
      t.ok(ok && alive, `${c.name}: expected ${c.expected}, got ${firstLine(e)}`);
      table.add(c.name, c.expected, `${firstLine(e)}${alive ? '' : '; grok-origin died'}`, ok && alive);
    }
  });
  rss.push(['after the hostile requests', origin.rssKb()]);

  await t.test('a real git push is refused and changes nothing', async (t) => {
    const work = path.join(dir, 'push-work');
    const r1 = await gitAsync(['clone', '-q', `${origin.url}/pub/r.git`, work]);
    writeFileSync(path.join(work, 'evil.txt'), 'evil\n');
    git(['-C', work, 'add', '.']);
    git(['-C', work, 'commit', '-q', '-m', 'evil']);
    const push = await gitAsync(['-C', work, 'push', 'origin', 'HEAD:refs/heads/evil']);
    const ok = r1.status === 0 && push.status !== 0 && refsOf(repo) === expectedRefs;
    t.ok(ok, `push refused: ${push.stderr.trim().split('\n').pop() ?? ''}`);
    table.add('git push over HTTP', 'refused; refs unchanged', `push exit ${push.status}: ${push.stderr.trim().split('\n').slice(-1)[0] ?? ''}; refs ${refsOf(repo) === expectedRefs ? 'unchanged' : 'CHANGED'}`, ok);
  });

  // Small limits need an in-process origin: the stalled-body and streamed-body cases would take
  // five minutes or 256 MiB against the defaults the command runs with.
  const small = path.join(dir, 'small');
  const smallHead = makeRepo(path.join(small, 'r.git'), { commits: 3 });
  const inproc = await startTestOrigin(t, small, { settings: { requestTimeoutMs: 12_000, uploadPackMaxBytes: 64 * 1024 } });
  const inPort = Number(new URL(inproc.url).port);

  await t.test('streamed bodies over the upload-pack limit (in-process origin, limit 64 KiB)', async (t) => {
    const chunked = (body: Buffer, extra = '') => {
      const head = `POST /r.git/git-upload-pack HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/x-git-upload-pack-request\r\n${extra}Transfer-Encoding: chunked\r\n\r\n`;
      const parts: Buffer[] = [Buffer.from(head)];
      for (let i = 0; i < body.length; i += 8192) {
        const c = body.subarray(i, i + 8192);
        parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
      }
      parts.push(Buffer.from('0\r\n\r\n'));
      return Buffer.concat(parts);
    };
    // Valid pkt-lines (a real want, then haves), so upload-pack keeps reading until the limit cuts it off.
    const want = `${pkt(`want ${smallHead}\n`)}0000`;
    const haves = Buffer.from(`${want}${Array.from({ length: 3000 }, (_, i) => pkt(`have ${i.toString(16).padStart(40, '0')}\n`)).join('')}`);
    const bomb = Buffer.concat([Buffer.from(want), Buffer.alloc(64 * 1024 * 1024, pkt(`have ${'5'.repeat(40)}\n`))]);
    for (const [name, req] of [
      ['chunked body of 150 KB', chunked(haves)],
      ['gzip body inflating to 150 KB (about 10 KB on the wire)', chunked(gzipSync(haves), 'Content-Encoding: gzip\r\n')],
      ['gzip bomb body: 64 MB of have lines in about 100 KB', chunked(gzipSync(bomb), 'Content-Encoding: gzip\r\n')],
    ] as const) {
      const e = await exchange(inPort, req);
      const ok = e.status === 413 || (e.status === 0 && e.closedByServer);
      t.ok(ok, `${name}: ${firstLine(e)}`);
      table.add(`upload-pack: ${name} (limit 64 KiB)`, '413 or a clean close; upload-pack stopped', firstLine(e), ok);
    }
  });

  await t.test('load: 500 idle connections, stalled bodies, 20 concurrent clones', async (t) => {
    const idle: { sock: Socket; closedAt: number }[] = [];
    const openedAt = performance.now();
    for (let i = 0; i < 500; i++) {
      const s = connect(origin.port, '127.0.0.1');
      const rec = { sock: s, closedAt: 0 };
      s.resume(); // read, or the server's close is never seen
      s.on('error', () => {});
      s.on('close', () => (rec.closedAt = performance.now()));
      idle.push(rec);
    }
    // Against the in-process origin (request timeout 12 s): headers sent, body never finished.
    const stalled: { sock: Socket; text: string; closed: boolean }[] = [];
    for (let i = 0; i < 20; i++) {
      const s = connect(inPort, '127.0.0.1');
      const rec = { sock: s, text: '', closed: false };
      s.setEncoding('latin1');
      s.on('data', (d: string) => (rec.text += d));
      s.on('error', () => {});
      s.on('close', () => (rec.closed = true));
      s.write(
        i % 2 === 0
          ? 'POST /_grok/notify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"paths":'
          : `POST /r.git/git-upload-pack HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-git-upload-pack-request\r\nContent-Length: 1000\r\n\r\n${pkt(`want ${'4'.repeat(40)}\n`)}`,
      );
      stalled.push(rec);
    }
    await waitFor('500 connections to be open', () => idle.every((r) => r.sock.readyState === 'open' || r.closedAt > 0));

    const health = await fetch(`${origin.url}/healthz`).then((r) => r.status, (err: unknown) => String(err));
    const clones = Array.from({ length: 20 }, (_, i) => path.join(dir, `clone-${i}.git`));
    const results = await Promise.all(clones.map((c) => gitAsync(['clone', '-q', '--mirror', `${origin.url}/pub/r.git`, c])));
    rss.push(['during 500 idle connections and 20 clones', origin.rssKb()]);
    const bad = clones.filter((c, i) => results[i]!.status !== 0 || refsOf(c) !== expectedRefs || !fsckOk(c).ok);
    const idleStillOpen = idle.filter((r) => r.closedAt === 0).length;
    t.equal(health, 200, '/healthz answers beside 500 idle connections');
    t.same(bad, [], '20 concurrent clones: all complete, same refs as the origin, git fsck clean');
    table.add('/healthz while 500 idle connections are open', '200', `${health} (${idleStillOpen} of 500 idle connections still open then)`, health === 200);
    table.add('20 concurrent clones beside 500 idle connections', 'all complete, refs equal to the origin, git fsck clean', `${20 - bad.length} of 20 correct`, bad.length === 0);

    // The server closes what it is not using: idle sockets after the 10 s header timeout (checked
    // every 5 s), stalled bodies after the request timeout. A generous bound, not a timing check.
    await waitFor('the idle connections to be closed by the server', () => idle.every((r) => r.closedAt > 0), 90_000).catch(() => {});
    const stillIdle = idle.filter((r) => r.closedAt === 0).length;
    const lastClose = Math.max(...idle.map((r) => r.closedAt)) - openedAt;
    t.equal(stillIdle, 0, 'every idle connection was closed by the server');
    table.add('500 connections opened and left idle (no bytes sent)', 'closed by the server after a bounded time; the server answers meanwhile', `${500 - stillIdle} of 500 closed by the server, the last after ${(lastClose / 1000).toFixed(0)} s`, stillIdle === 0);
    await waitFor('the stalled requests to be closed by the server', () => stalled.every((r) => r.closed), 90_000).catch(() => {});
    const stalledOpen = stalled.filter((r) => !r.closed).length;
    const got408 = stalled.filter((r) => /^HTTP\/1\.1 408/.test(r.text)).length;
    t.equal(stalledOpen, 0, 'stalled request bodies are cut off by the request timeout');
    table.add('20 requests whose body never finishes (notify and upload-pack; request timeout 12 s)', 'closed by the server (408 where no response has started)', `${20 - stalledOpen} of 20 closed, ${got408} with a 408`, stalledOpen === 0);
    for (const r of [...idle, ...stalled]) r.sock.destroy();
    const h2 = await fetch(`${inproc.url}/healthz`).then((r) => r.status, (err: unknown) => String(err));
    t.equal(h2, 200, 'the in-process origin answers afterwards');
  });

  await t.test('afterwards: memory bounded, still serving correct clones', async (t) => {
    rss.push(['at the end', origin.rssKb()]);
    const clone = path.join(dir, 'final.git');
    const r = await gitAsync(['clone', '-q', '--mirror', `${origin.url}/pub/r.git`, clone]);
    const ok = r.status === 0 && refsOf(clone) === expectedRefs && fsckOk(clone).ok && !origin.proc.exited();
    t.ok(ok, `a final clone is correct: ${r.stderr}`);
    table.add('a clone after everything above', 'correct refs, git fsck clean, grok-origin still running', ok ? 'correct' : `failed: ${r.stderr.trim()}`, ok);
    const peak = Math.max(...rss.map(([, kb]) => kb));
    t.ok(peak < RSS_CEILING_KB, `grok-origin's VmRSS stayed under ${RSS_CEILING_KB / 1024} MB (peak ${(peak / 1024).toFixed(0)} MB)`);
    table.add("grok-origin's VmRSS (/proc/<pid>/status)", `under ${RSS_CEILING_KB / 1024} MB throughout`, rss.map(([when, kb]) => `${when}: ${(kb / 1024).toFixed(0)} MB`).join('; '), peak < RSS_CEILING_KB);
    const warnings = origin.stderr().split('\n').filter((l) => l.trim() !== '').length;
    t.comment(`grok-origin wrote ${warnings} log lines on stderr (refusals are logged with their reason)`);
  });

  const file = table.write([`Seed ${SEED}. Time: ${((performance.now() - started) / 1000).toFixed(1)} s. A status 0 means the server closed the connection without an answer.`]);
  t.comment(`hostile HTTP: ${table.rows.length} cases, ${table.passed} handled as expected, ${table.rows.length - table.passed} not; ${file}`);
});
