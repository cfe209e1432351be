import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { handoffPathFor } from '../../../origin/manifest/handoff.js';
import { EventLog } from '../../../origin/server/event-log.js';
import { ManifestStore } from '../../../origin/server/manifest-store.js';
import { silentLogger } from '../../../shared/log.js';
import { BIN } from '../../helpers/fixture.js';
import { fsckOk, makeRepo, pushCommit } from '../../helpers/git.js';
import { runBin } from '../../helpers/cli.js';
import { readM, runM } from '../../helpers/manifest.js';
import { readEvents, startTestOrigin } from '../../helpers/origin.js';
import { tmpDir } from '../../helpers/tmp.js';

function collection(t: Parameters<typeof tmpDir>[0], n = 3): { dir: string; top: string; repos: string[] } {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  const repos = Array.from({ length: n }, (_, i) => path.join(top, `r${i}.git`));
  repos.forEach((r, i) => makeRepo(r, { date: 1_600_000_000 + i }));
  return { dir, top, repos };
}

t.test('a hook notice updates the manifest on disk and is published as an event', async (t) => {
  const { top, repos } = collection(t);
  const origin = await startTestOrigin(t, top);
  const feed = readEvents(`${origin.url}/_grok/events`, { count: 1 });
  await new Promise((r) => setTimeout(r, 100));
  pushCommit(repos[1]!, { date: 1_700_000_001 });
  // exactly what a post-receive hook runs
  const hook = await runBin(BIN.manifest, ['-n', '-m', path.join(top, 'manifest.js.gz'), '-t', top, repos[1]!]);
  t.equal(hook.code, 0, hook.stderr);
  const m = await readM(path.join(top, 'manifest.js.gz'));
  t.equal(m['/r1.git']!.fingerprint, readFileSync(path.join(repos[1]!, 'grokmirror.fingerprint'), 'utf8'), 'the server wrote the new entry');
  t.ok(m['/r1.git']!.modified > 1_700_000_001, '-n went along: modified is now');
  const events = await feed;
  const change = events.find((e) => e.event === 'change');
  t.match(change, { event: 'change', data: { key: '/r1.git', entry: { fingerprint: m['/r1.git']!.fingerprint } } });
  t.match(change!.id, /^[0-9a-f]+-1$/);
  t.ok(fsckOk(repos[1]!).ok);
});

t.test('resume with Last-Event-ID, reset when the id is foreign or too old, and the delta endpoint', async (t) => {
  const { top, repos } = collection(t);
  const origin = await startTestOrigin(t, top, { settings: { eventsBacklog: 100 } });
  const notify = (r: string) => origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: [r] } });
  pushCommit(repos[0]!);
  await notify(repos[0]!);
  const firstId = origin.events.idOf(1);
  pushCommit(repos[1]!);
  await notify(repos[1]!);
  pushCommit(repos[2]!);
  await notify(repos[2]!);
  const missed = await readEvents(`${origin.url}/_grok/events`, { lastEventId: firstId, count: 2 });
  t.same(missed.map((e) => (e.data as { key: string }).key), ['/r1.git', '/r2.git'], 'got exactly what it missed');
  const foreign = await readEvents(`${origin.url}/_grok/events`, { lastEventId: 'deadbeef-3', count: 1 });
  t.equal(foreign[0]?.event, 'reset', 'an id from another run: re-read the manifest');
  const delta = await origin.app.inject({ url: `/_grok/changes?since=${firstId}` });
  t.match(JSON.parse(delta.payload), { reset: false, changes: [{ key: '/r1.git' }, { key: '/r2.git' }], last: origin.events.idOf(3) });
  t.match(JSON.parse((await origin.app.inject({ url: '/_grok/changes?since=bogus' })).payload), { reset: true });
  for (let i = 0; i < 120; i++) origin.events.append('/r0.git', null, 0);
  t.match(JSON.parse((await origin.app.inject({ url: `/_grok/changes?since=${firstId}` })).payload), { reset: true }, 'older than the backlog');
});

t.test('bad notices are refused with a clear status; the manifest is never harmed', async (t) => {
  const { dir, top, repos } = collection(t);
  const origin = await startTestOrigin(t, top, { extra: 'notify_max_size = 2K\n' });
  const before = readFileSync(path.join(top, 'manifest.js.gz'));
  const post = (payload: string | object, headers: Record<string, string> = {}, remoteAddress?: string) =>
    origin.app.inject({ method: 'POST', url: '/_grok/notify', payload, headers, ...(remoteAddress ? { remoteAddress } : {}) });
  const rows: [string, Awaited<ReturnType<typeof post>>, number, RegExp][] = [
    ['invalid JSON', await post('{"paths": [', { 'content-type': 'application/json' }), 400, /JSON/i],
    ["paths not a list", await post({ paths: "/r0.git" }), 400, /paths.* must be a list/],
    ['bad use_now', await post({ paths: ['/r0.git'], use_now: 'yes' }), 400, /use_now/],
    ['no paths', await post({ paths: [] }), 400, /no paths/],
    ['unknown repos', await post({ paths: ['/nosuch.git', path.join(dir, 'elsewhere.git')] }), 404, /no repository among the paths/],
    ['traversal', await post({ paths: ['/../../etc'] }), 404, /outside the toplevel/],
    ['oversized body', await post({ paths: ['x'.repeat(4096)] }), 413, /.*/],
    ['not local, no secret', await post({ paths: ['/r0.git'] }, {}, '203.0.113.9'), 403, /loopback caller or a valid secret/],
    ['not local, wrong secret', await post({ paths: ['/r0.git'] }, { authorization: 'Bearer nope' }, '203.0.113.9'), 403, /secret/],
  ];
  for (const [name, res, status, msg] of rows) {
    t.equal(res.statusCode, status, name);
    t.match(res.payload, msg, `${name}: says why`);
  }
  const withToken = await post({ paths: ['/r0.git'] }, { authorization: `Bearer ${origin.token}` }, '203.0.113.9');
  t.equal(withToken.statusCode, 200, 'a remote caller with the token may notify');
  const mixed = await post(`${repos[0]}\n/nosuch.git\n`, { 'content-type': 'text/plain' });
  t.equal(mixed.statusCode, 200);
  t.match(JSON.parse(mixed.payload), { rejected: [{ path: '/nosuch.git' }] }, 'text lines; the bad one reported, the good one done');
  t.same(readFileSync(path.join(top, 'manifest.js.gz')), before, 'nothing changed, nothing rewritten');
  t.equal(statSync(handoffPathFor(path.join(top, 'manifest.js.gz'))).mode & 0o777, 0o600, 'the token file is private');
});

t.test('with notify_secret set, even local callers need a secret', async (t) => {
  const { top } = collection(t, 1);
  const origin = await startTestOrigin(t, top, { extra: 'notify_secret = s3cret\n' });
  t.equal((await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/r0.git'] } })).statusCode, 403);
  const ok = await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/r0.git'] }, headers: { authorization: 'Bearer s3cret' } });
  t.equal(ok.statusCode, 200);
});

t.test('server down: the same hook updates the file itself', async (t) => {
  const { top, repos } = collection(t);
  const m = path.join(top, 'manifest.js.gz');
  await runM(top, m);
  // a handoff file left by a server that died: its pid is gone
  writeFileSync(handoffPathFor(m), JSON.stringify({ url: 'http://127.0.0.1:9', token: 'x', pid: 2 ** 22 + 12345 }), { mode: 0o600 });
  pushCommit(repos[0]!);
  let r = await runBin(BIN.manifest, ['-n', '-m', m, '-t', top, repos[0]!]);
  t.equal(r.code, 0, r.stderr);
  t.equal((await readM(m))['/r0.git']!.fingerprint, readFileSync(path.join(repos[0]!, 'grokmirror.fingerprint'), 'utf8'));
  // a live pid (ours) but nothing listening: refused connection, same fallback
  writeFileSync(handoffPathFor(m), JSON.stringify({ url: 'http://127.0.0.1:9', token: 'x', pid: process.pid }), { mode: 0o600 });
  pushCommit(repos[1]!);
  r = await runBin(BIN.manifest, ['-n', '-m', m, '-t', top, repos[1]!]);
  t.equal(r.code, 0);
  t.match(r.stderr, /did not take the notice .*updating the manifest here/);
  t.equal((await readM(m))['/r1.git']!.fingerprint, readFileSync(path.join(repos[1]!, 'grokmirror.fingerprint'), 'utf8'));
});

t.test('a stand-alone writer while the server runs: the change is reloaded and published', async (t) => {
  const { top, repos } = collection(t);
  const origin = await startTestOrigin(t, top);
  const feed = readEvents(`${origin.url}/_grok/events`, { count: 1 });
  await new Promise((r) => setTimeout(r, 200));
  pushCommit(repos[2]!);
  const r = await runBin(BIN.manifest, ['--standalone', '-m', path.join(top, 'manifest.js.gz'), '-t', top, repos[2]!]);
  t.equal(r.code, 0, r.stderr);
  const events = await feed;
  t.match(events.find((e) => e.event === 'change'), { data: { key: '/r2.git' } }, 'published after the reload');
  t.equal(origin.store.get('/r2.git')?.fingerprint, readFileSync(path.join(repos[2]!, 'grokmirror.fingerprint'), 'utf8'));
});

t.test('a server write keeps what a stand-alone writer wrote since the server last read the file', async (t) => {
  const { top, repos } = collection(t);
  const file = path.join(top, 'manifest.js.gz');
  await runM(top, file);
  // The store alone, without the server's file watcher: its write must not depend on a reload
  // having come first (the watcher reports a rewrite only some time after it happened).
  const events = new EventLog(100);
  const store = await ManifestStore.open({ file, pretty: false, writeDelayMs: 60_000, maxBytes: 1 << 20 }, events, { log: silentLogger(), now: Date.now });
  const servedWhenAnnounced: boolean[] = [];
  events.subscribe((e) => {
    const served = JSON.parse(gunzipSync(Buffer.concat(store.current().rendered.members)).toString('utf8')) as Record<string, { fingerprint: string; description?: string }>;
    servedWhenAnnounced.push(JSON.stringify(served[e.key]) === JSON.stringify(e.entry));
  });
  const mine = { ...(await readM(file))['/r0.git']!, description: 'changed by the server' };
  const written = store.apply([{ key: '/r0.git', entry: mine }]);
  pushCommit(repos[1]!);
  await runM(top, file, { paths: [repos[1]!] });
  await store.flush();
  await written;
  const m = await readM(file);
  t.equal(m['/r0.git']!.description, 'changed by the server', "the server's own change is written");
  t.equal(m['/r1.git']!.fingerprint, readFileSync(path.join(repos[1]!, 'grokmirror.fingerprint'), 'utf8'), "the stand-alone writer's change is not undone");
  t.match(events.since(events.idOf(0)), { events: [{ key: '/r1.git' }, { key: '/r0.git' }] }, 'both published, the rewrite first');
  t.same(servedWhenAnnounced, [true, true], 'each change is served by the time it is announced');
  t.equal(await store.reload(), 0, 'a later reload finds nothing new');
});

t.test('stopping flushes pending writes and removes the handoff file', async (t) => {
  const { top, repos } = collection(t);
  const origin = await startTestOrigin(t, top, { settings: { writeDelayMs: 60_000 } });
  pushCommit(repos[0]!);
  const pending = origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/r0.git'] } });
  await new Promise((r) => setTimeout(r, 300));
  t.equal(origin.store.pendingChanges, 1, 'waiting for the (long) write delay');
  await origin.close();
  t.equal((await pending).statusCode, 200, 'the notice was answered');
  t.equal((await readM(path.join(top, 'manifest.js.gz')))['/r0.git']!.fingerprint, readFileSync(path.join(repos[0]!, 'grokmirror.fingerprint'), 'utf8'), 'flushed on stop');
  t.notOk(existsSync(handoffPathFor(path.join(top, 'manifest.js.gz'))));
});

t.test('concurrent notices: no update is lost', async (t) => {
  const { top, repos } = collection(t, 8);
  const origin = await startTestOrigin(t, top);
  for (let round = 0; round < 3; round++) {
    for (const r of repos) pushCommit(r, { date: 1_700_000_000 + round });
    await Promise.all(repos.flatMap((r) => [1, 2, 3].map(() => origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: [r] } }))));
  }
  const m = await readM(path.join(top, 'manifest.js.gz'));
  for (const r of repos) t.equal(m['/' + path.basename(r)]!.fingerprint, readFileSync(path.join(r, 'grokmirror.fingerprint'), 'utf8'), path.basename(r));
});

t.test('repo-watch mode notices pushes without hooks', async (t) => {
  const { top, repos } = collection(t, 2);
  const origin = await startTestOrigin(t, top, { extra: 'repo_watch = yes\n' });
  const feed = readEvents(`${origin.url}/_grok/events`, { count: 1, timeoutMs: 15_000 });
  await new Promise((r) => setTimeout(r, 500));
  const sha = pushCommit(repos[0]!, { branch: 'watched' });
  const events = await feed;
  t.match(events.find((e) => e.event === 'change'), { data: { key: '/r0.git' } }, `push of ${sha.slice(0, 8)} noticed`);
});

t.test('refused notices leave a log line saying why', async (t) => {
  const { top } = collection(t, 1);
  const lines: string[] = [];
  const { pino } = await import('pino');
  const { Writable } = await import('node:stream');
  const log = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
  const { startOrigin } = await import('../../../origin/server/origin.js');
  const { testSettings } = await import('../../helpers/origin.js');
  const { Git } = await import('../../../shared/git/index.js');
  const origin = await startOrigin({ ...testSettings(top, 'notify_max_size = 1K\n') }, { git: new Git(), log, now: Date.now });
  t.teardown(() => origin.close());
  await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: 'x' } });
  await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['y'.repeat(2000)] } });
  await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: '{"paths":', headers: { 'content-type': 'application/json' } });
  await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/r0.git'] }, remoteAddress: '203.0.113.9' });
  const text = lines.join('');
  t.match(text, /notify refused \(400\): \\"paths\\" must be a list/);
  t.match(text, /: 413 Request body is too large/);
  t.match(text, /: 400 .*JSON/);
  t.match(text, /notify refused: not local and no valid secret/);
});
