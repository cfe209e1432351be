/**
 * Issue 16, item 9: the change feed holds no more for a client than its socket takes. A backlog of
 * 20,000 events (about 40 MB) and 20 subscribers resuming from its start that never read: each
 * connection's pending bytes stay within one socket buffer and one event (they were the whole
 * backlog each: 20 x 40 MB). A reading subscriber resuming from the start still gets every event, in
 * order; one that fell behind the backlog while it did not read gets `reset` and is closed; one that
 * reads nothing at all is closed by the send timeout. Subscribers are bounded (503 beyond
 * `max_feed_clients`, logged), and `/_grok/changes` answers are bounded in bytes and page through
 * the whole backlog.
 */
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import t from 'tap';
import { startOrigin } from '../../origin/server/origin.js';
import type { ManifestEntry } from '../../shared/manifest/entry.js';
import { Git } from '../../shared/git/index.js';
import { makeRepo } from '../helpers/git.js';
import { readEvents, testSettings } from '../helpers/origin.js';
import { tmpDir } from '../helpers/tmp.js';

const BACKLOG = 20_000;
/** One socket buffer (16 KiB in Node 20, 64 KiB in 22) and one event, with room to spare. */
const PER_SUBSCRIBER_BOUND = 256 * 1024;

const dir = tmpDir(t, 'grok-feed-');
const top = path.join(dir, 'top');
makeRepo(path.join(top, 'r.git'));
const lines: string[] = [];
const log = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
const origin = await startOrigin(testSettings(top, `events_backlog = ${BACKLOG}\nmax_feed_clients = 25\nsend_timeout = 3\n`), { git: new Git(), log, now: Date.now });
t.teardown(() => origin.close());
const port = Number(new URL(origin.url).port);
const serverSockets: Socket[] = [];
origin.app.server.on('connection', (s: Socket) => serverSockets.push(s));

const entry = (i: number): ManifestEntry => ({ description: `repository ${i} ${'d'.repeat(2000)}`, fingerprint: i.toString(16).padStart(40, '0'), modified: 1_700_000_000 + i, reference: null }) as ManifestEntry;
const fill = (n: number) => {
  for (let i = 0; i < n; i++) origin.events.append(`/pub/r${i % 500}.git`, entry(origin.events.last + 1), Date.now());
};
fill(BACKLOG);
const firstId = origin.events.idOf(0);

/** A subscriber resuming from `id` that never reads. */
function silent(id: string): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.pause();
      s.write(`GET /_grok/events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: ${id}\r\n\r\n`);
      resolve(s);
    });
    s.on('error', () => {});
  });
}

t.test('20 subscribers replaying 40 MB each and never reading: each holds one buffer, not the backlog', async (t) => {
  const before = serverSockets.length;
  const clients = await Promise.all(Array.from({ length: 20 }, () => silent(firstId)));
  t.teardown(() => clients.forEach((c) => c.destroy()));
  // Each connection is accepted once the one before it has filled its kernel buffers (a few MB).
  for (let i = 0; i < 200 && (serverSockets.length - before < 20 || origin.events.subscribers < 20); i++) await sleep(100);
  await sleep(300);
  const mine = serverSockets.slice(before);
  t.equal(mine.length, 20, `server sockets: ${mine.length}, subscribers ${origin.events.subscribers}, pending ${mine.map((s) => s.writableLength).join(',')}`);
  const pending = mine.map((s) => s.writableLength);
  const worst = Math.max(...pending);
  t.ok(worst <= PER_SUBSCRIBER_BOUND, `largest pending reply ${worst} bytes (bound ${PER_SUBSCRIBER_BOUND}); all: ${pending.reduce((a, b) => a + b, 0)} bytes`);
  t.equal(origin.events.subscribers, 20, 'all 20 still subscribed');
});

t.test('a reading subscriber resuming from the start gets all 20,000 events in order', async (t) => {
  const got = await readEvents(`${origin.url}/_grok/events`, { lastEventId: firstId, count: BACKLOG, timeoutMs: 60_000 });
  const changes = got.filter((e) => e.event === 'change');
  t.equal(changes.length, BACKLOG);
  t.ok(changes.every((e, i) => e.id === origin.events.idOf(i + 1)), 'every event, in order, none twice');
});

t.test('a subscriber that did not read while the backlog moved on gets reset, then is closed', async (t) => {
  const sub = await silent(origin.events.idOf(origin.events.last - 10));
  let text = '';
  let closed = false;
  sub.setEncoding('utf8');
  sub.on('close', () => (closed = true));
  await sleep(200);
  fill(BACKLOG + 10);
  sub.on('data', (d: string) => (text += d));
  sub.resume();
  for (let i = 0; i < 100 && !closed; i++) await sleep(100);
  t.ok(closed, 'closed by the server');
  t.match(text, /event: reset\n/, 'told to re-read the manifest');
  t.match(lines.join(''), /fell behind the backlog: reset/);
});

t.test('a subscriber that takes nothing is closed by the send timeout, with a log line', async (t) => {
  for (const s of serverSockets) if (!s.destroyed && s.writableLength > 0) s.destroy(); // the 20 above
  lines.length = 0;
  const sub = await silent(origin.events.idOf(origin.events.last - BACKLOG + 1));
  let closed = false;
  sub.on('close', () => (closed = true));
  sub.on('end', () => (closed = true));
  for (let i = 0; i < 150 && !/took no byte of the reply to GET \/_grok\/events/.test(lines.join('')); i++) await sleep(100);
  t.match(lines.join(''), /closing the connection of 127\.0\.0\.1: it took no byte of the reply to GET \/_grok\/events for \d+ s/);
  sub.resume();
  for (let i = 0; i < 50 && !closed; i++) await sleep(100);
  t.ok(closed, 'its connection is gone');
});

t.test('subscribers are bounded: 503 beyond max_feed_clients, logged', async (t) => {
  for (let i = 0; i < 50 && origin.events.subscribers > 0; i++) await sleep(100);
  lines.length = 0;
  const subs = await Promise.all(Array.from({ length: 25 }, () => silent(origin.events.idOf(origin.events.last))));
  t.teardown(() => subs.forEach((s) => s.destroy()));
  for (let i = 0; i < 50 && origin.events.subscribers < 25; i++) await sleep(100);
  const res = await fetch(`${origin.url}/_grok/events`);
  t.equal(res.status, 503);
  await res.body?.cancel();
  t.match(lines.join(''), /change feed refused to 127\.0\.0\.1 \(503\): 25 subscribers already/);
});

t.test('/_grok/changes: bounded answers that page through the whole backlog', async (t) => {
  let since = origin.events.idOf(origin.events.last - BACKLOG);
  const seen: string[] = [];
  let pages = 0;
  let largest = 0;
  for (;;) {
    const res = await fetch(`${origin.url}/_grok/changes?since=${since}`);
    const text = await res.text();
    largest = Math.max(largest, text.length);
    const body = JSON.parse(text) as { reset: boolean; more: boolean; last: string; changes: { id: string }[] };
    t.equal(body.reset, false);
    seen.push(...body.changes.map((c) => c.id));
    pages++;
    since = body.last;
    if (!body.more) break;
  }
  t.equal(seen.length, BACKLOG, 'every change once');
  t.equal(new Set(seen).size, BACKLOG);
  t.equal(seen[seen.length - 1], origin.events.idOf(origin.events.last));
  t.ok(largest <= 4 * 1024 * 1024 + 4096, `largest answer ${largest} bytes over ${pages} pages`);
});
