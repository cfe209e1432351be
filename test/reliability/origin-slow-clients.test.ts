/**
 * Issue 16, item 8: clients that ask and never read (or never finish asking) cannot hold grok-origin's
 * upload-pack slots. Against an origin with 4 slots and `send_timeout = 2`: packs that are never read
 * (each bigger than what the kernel buffers), advertisements never read, and requests whose body
 * never completes, from eight different addresses; a real clone must still complete, each stalled
 * reply is closed with a log line naming the client and the request, and no upload-pack is left.
 * One client (one address, or one X-Forwarded-For behind a local proxy) gets at most its share of the
 * slots, waits in line for more, and is refused (429, logged) beyond a bounded number waiting.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import t from 'tap';
import { startOrigin } from '../../origin/server/origin.js';
import { Git } from '../../shared/git/index.js';
import { runFor } from '../helpers/cli.js';
import { fsckOk, git, gitDir, makeRepo } from '../helpers/git.js';
import { testSettings } from '../helpers/origin.js';
import { tmpDir } from '../helpers/tmp.js';
import { pktLine as pkt } from '../../shared/git/pkt-line.js';


const gitAsync = async (args: string[], timeoutMs: number) => {
  const r = await runFor(['git', ...args], timeoutMs);
  return { status: r.code, stderr: r.stderr };
};

/** A raw client from `from` (any 127.x address is this host) that sends `request` and never reads. */
function stalled(port: number, from: string, request: string | Buffer): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: from }, () => {
      s.pause();
      s.write(request);
      resolve(s);
    });
    s.on('error', () => {});
  });
}

const dir = tmpDir(t, 'grok-slow-clients-');
const top = path.join(dir, 'top');
const repo = path.join(top, 'big.git');
makeRepo(repo, { commits: 2 });
{
  // 24 MB that does not compress: a pack far larger than the socket buffers of a client that never reads.
  const work = path.join(dir, 'work');
  git(['clone', '-q', repo, work]);
  writeFileSync(path.join(work, 'blob.bin'), randomBytes(24 * 1024 * 1024));
  git(['add', 'blob.bin'], { cwd: work });
  git(['commit', '-q', '-m', 'big'], { cwd: work });
  git(['push', '-q', 'origin', 'HEAD:master'], { cwd: work });
}
const head = gitDir(repo, ['rev-parse', 'refs/heads/master']);
const lines: string[] = [];
const log = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
const extra = 'max_upload_packs = 4\nsend_timeout = 2\n';
const origin = await startOrigin({ ...testSettings(top, extra), requestTimeoutMs: 4_000 }, { git: new Git(), log, now: Date.now });
t.teardown(() => origin.close());
const port = Number(new URL(origin.url).port);
const uploadPacks = async () => Number(/^grokmirror_origin_upload_packs (\d+)/m.exec((await origin.app.inject({ url: '/metrics' })).payload)?.[1] ?? -1);

const packRequest = (extraHeaders = '') => {
  const body = pkt('command=fetch\n') + '0001' + pkt('no-progress\n') + pkt(`want ${head}\n`) + pkt('done\n') + '0000';
  return `POST /big.git/git-upload-pack HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-git-upload-pack-request\r\nGit-Protocol: version=2\r\n${extraHeaders}Content-Length: ${body.length}\r\n\r\n${body}`;
};
const refsRequest = 'GET /big.git/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: x\r\n\r\n';
const halfBody = 'POST /big.git/git-upload-pack HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-git-upload-pack-request\r\nContent-Length: 1000\r\n\r\n0014command=fetch\n';

t.test('eight clients that never read hold no slot for long; a clone completes', async (t) => {
  const clients = await Promise.all([
    ...[2, 3, 4, 5].map((i) => stalled(port, `127.0.0.${i}`, packRequest())),
    ...[6, 7].map((i) => stalled(port, `127.0.0.${i}`, refsRequest)),
    ...[8, 9].map((i) => stalled(port, `127.0.0.${i}`, halfBody)),
  ]);
  t.teardown(() => clients.forEach((c) => c.destroy()));
  await sleep(300);
  const clone = path.join(dir, 'clone.git');
  const r = await gitAsync(['clone', '-q', '--bare', `${origin.url}/big.git`, clone], 60_000);
  t.equal(r.status, 0, `the clone completes while eight clients stall: ${r.stderr.trim()}`);
  t.equal(gitDir(clone, ['rev-parse', 'refs/heads/master']), head);
  t.ok(fsckOk(clone).ok, 'the clone passes git fsck');
  let left = await uploadPacks();
  for (let i = 0; i < 50 && left !== 0; i++) left = (await sleep(100), await uploadPacks());
  t.equal(left, 0, 'no upload-pack left running');
  // Node's request timeout (4 s here, checked every 5 s) ends the requests whose body never came.
  const goneLines = () => (lines.join('').match(/the client went away before sending its whole request/g) ?? []).length;
  for (let i = 0; i < 150 && goneLines() < 2; i++) await sleep(100);
  const text = lines.join('');
  const closedPacks = [2, 3, 4, 5].filter((i) => new RegExp(`closing the connection of 127\\.0\\.0\\.${i}: it took no byte of the reply to POST /big\\.git/git-upload-pack for \\d+ s`).test(text));
  t.same(closedPacks, [2, 3, 4, 5], 'each unread pack: closed, with a log line naming client and request');
  t.equal(goneLines(), 2, 'each request whose body never completed: a log line');
  t.ok(fsckOk(repo).ok, 'the served repository is intact');
});

t.test('one client gets its share of slots; more wait; beyond a bound, 429 with a log line', async (t) => {
  lines.length = 0;
  const share = await startOrigin(
    { ...testSettings(path.join(dir, 'top'), 'max_upload_packs = 4\nmax_upload_packs_per_client = 2\nsend_timeout = 30\n', 'manifest2.js.gz'), uploadPackWaitingPerClient: 1 },
    { git: new Git(), log, now: Date.now },
  );
  t.teardown(() => share.close());
  const p2 = Number(new URL(share.url).port);
  const packs = async () => Number(/^grokmirror_origin_upload_packs (\d+)/m.exec((await share.app.inject({ url: '/metrics' })).payload)?.[1] ?? -1);
  const waiting = async () => Number(/^grokmirror_origin_upload_packs_waiting (\d+)/m.exec((await share.app.inject({ url: '/metrics' })).payload)?.[1] ?? -1);
  // Behind a local proxy: the proxy's X-Forwarded-For names the client.
  const proxied = (ip: string) => packRequest(`X-Forwarded-For: 198.51.100.7, ${ip}\r\n`);
  const held = [await stalled(p2, '127.0.0.1', proxied('203.0.113.5')), await stalled(p2, '127.0.0.1', proxied('203.0.113.5'))];
  t.teardown(() => held.forEach((c) => c.destroy()));
  for (let i = 0; i < 50 && (await packs()) < 2; i++) await sleep(100);
  t.equal(await packs(), 2, 'the client holds its two slots');
  const third = await stalled(p2, '127.0.0.1', proxied('203.0.113.5'));
  held.push(third);
  for (let i = 0; i < 50 && (await waiting()) < 1; i++) await sleep(100);
  t.equal(await waiting(), 1, 'its third request waits although two slots are free');
  // Its fourth: refused at once.
  const fourth = await new Promise<string>((resolve) => {
    const s = connect(p2, '127.0.0.1', () => s.write(proxied('203.0.113.5')));
    let text = '';
    s.setEncoding('latin1').on('data', (d: string) => (text += d));
    s.on('close', () => resolve(text));
    setTimeout(() => s.destroy(), 10_000);
  });
  t.match(fourth, /^HTTP\/1\.1 429 /, 'the fourth is refused with 429');
  t.match(lines.join(''), /from 203\.0\.113\.5 refused \(429\): 2 running and 1 waiting already/, 'and logged');
  // Another client (the same proxy, another X-Forwarded-For; and a plain address) clones meanwhile.
  const clone = path.join(dir, 'clone-share.git');
  const r = await gitAsync(['clone', '-q', '--bare', `${share.url}/big.git`, clone], 60_000);
  t.equal(r.status, 0, `another client clones while the first holds its share: ${r.stderr.trim()}`);
  t.ok(fsckOk(clone).ok);
  // The waiting request leaves the line when its client goes away.
  third.destroy();
  for (let i = 0; i < 50 && (await waiting()) > 0; i++) await sleep(100);
  t.equal(await waiting(), 0, 'a client that went away no longer waits');
});
