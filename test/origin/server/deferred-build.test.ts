/**
 * grok-origin starting from a manifest in grokmirror's form (one gzip member) listens first and
 * builds its slices after: meanwhile it serves the file's own bytes with their validators and
 * /healthz says "starting"; a notice or a git request that comes then waits for the build and goes
 * through as usual; a bad file still ends the process with the error and the exit status it always
 * had (a kill -9 during the build: deferred-build.slow.test.ts). The build is held by the test's
 * hook (OriginDeps.beforeBuild): no timing.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import t, { type Test } from 'tap';
import { startOrigin } from '../../../origin/server/origin.js';
import { describeError, isGrokError } from '../../../shared/errors.js';
import { Git } from '../../../shared/git/index.js';
import { silentLogger } from '../../../shared/log.js';
import type { ManifestEntry } from '../../../shared/manifest/entry.js';
import { readManifestFile } from '../../../shared/manifest/io.js';
import { fsckOk, pushCommit } from '../../helpers/git.js';
import { entry, listening, oneMember, spawnOrigin } from '../../helpers/one-member-origin.js';
import { testSettings } from '../../helpers/origin.js';

function held(): { gate: () => Promise<void>; release: () => void } {
  let release!: () => void;
  const p = new Promise<void>((r) => (release = r));
  return { gate: () => p, release };
}

async function startHeld(t: Test, top: string, gate: () => Promise<void>) {
  const origin = await startOrigin(testSettings(top), { git: new Git(), log: silentLogger(), now: Date.now, beforeBuild: gate });
  t.teardown(() => origin.close());
  return origin;
}

t.test('listening before the build: the file served as it is, /healthz starting, a notice answered after the build and written', async (t) => {
  const { top, file, repo, original } = oneMember(t, 600);
  const { gate, release } = held();
  const origin = await startHeld(t, top, gate);
  const order: string[] = [];
  void origin.built.then(() => order.push('built'));

  t.ok(origin.store.building, 'listening with the build not done');
  const gz = await fetch(`${origin.url}/manifest.js.gz`);
  t.equal(gz.status, 200);
  const etag = `"${createHash('sha1').update(original).digest('hex')}"`;
  t.equal(gz.headers.get('etag'), etag, 'the ETag of the file');
  t.ok(Buffer.from(await gz.arrayBuffer()).equals(original), 'the bytes of the file');
  t.equal((await fetch(`${origin.url}/manifest.js.gz`, { headers: { 'if-none-match': etag } })).status, 304, 'a conditional GET');
  const health = (await (await fetch(`${origin.url}/healthz`)).json()) as { status: string; entries: number | null };
  t.same({ status: health.status, entries: health.entries }, { status: 'starting', entries: null }, '/healthz: starting, no entry count claimed');

  pushCommit(repo);
  const notice = fetch(`${origin.url}/_grok/notify`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${origin.token}` }, body: JSON.stringify({ paths: [repo] }) }).then(async (r) => {
    order.push('notice answered');
    return { status: r.status, body: (await r.json()) as { updated: string[] } };
  });
  const refs = fetch(`${origin.url}/a.git/info/refs?service=git-upload-pack`).then((r) => (order.push('git answered'), r.status));
  // A round trip through the server: the notice and the git request are in it by then, and wait.
  t.equal((await fetch(`${origin.url}/healthz`)).status, 200);
  t.same(order, [], 'nothing answered while the build is held');
  t.ok(readFileSync(file).equals(original), 'the file untouched during the build');

  release();
  const answered = await notice;
  t.equal(answered.status, 200);
  t.same(answered.body.updated, ['/a.git']);
  t.equal(await refs, 200, 'the git request is served once the entries are known');
  t.equal(order[0], 'built', 'the build finished before anything waiting was answered');
  const doc = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as Record<string, ManifestEntry>;
  t.equal(doc['/a.git']!.fingerprint, readFileSync(path.join(repo, 'grokmirror.fingerprint'), 'utf8'), 'the notice landed in the file');
  t.equal(Object.keys(doc).length, 601, 'every entry of the file kept');
  t.same(doc['/synthetic/r77.git'], entry(77));
  const after = (await (await fetch(`${origin.url}/healthz`)).json()) as { status: string; entries: number };
  t.same({ status: after.status, entries: after.entries }, { status: 'ok', entries: 601 });
  t.ok(fsckOk(repo).ok);
});

t.test('a bad file found by the build: built rejects with the whole-file error, a waiting notice is refused, /healthz never said ok', async (t) => {
  const { top, file, repo, original } = oneMember(t, 300, (doc) => JSON.stringify(doc).replace('"/synthetic/r150.git":{', '"/synthetic/r150.git":{x'));
  const expected = await readManifestFile(file).then(() => null, (err: unknown) => err);
  t.ok(isGrokError(expected, 'GROK_ERR_MANIFEST_PARSE'), 'the file is one a whole-file read refuses');
  const { gate, release } = held();
  const origin = await startHeld(t, top, gate);
  const health = (await (await fetch(`${origin.url}/healthz`)).json()) as { status: string };
  t.equal(health.status, 'starting');
  pushCommit(repo);
  const notice = fetch(`${origin.url}/_grok/notify`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${origin.token}` }, body: JSON.stringify({ paths: [repo] }) });
  await fetch(`${origin.url}/healthz`);
  release();
  const err = await origin.built.then(() => null, (e: unknown) => e);
  t.equal(describeError(err), describeError(expected), 'the error a start-up with this file always failed with');
  t.equal((err as { code?: string }).code, (expected as { code: string }).code);
  t.equal((await notice).status, 500, 'the waiting notice is not claimed written');
  t.ok(origin.store.building, 'still no entries in memory');
  t.equal(((await (await fetch(`${origin.url}/healthz`)).json()) as { status: string }).status, 'starting', '/healthz does not say ok');
  t.ok(readFileSync(file).equals(original), 'the file untouched');
});

t.test('grok-origin on a bad one-member file: the same one-line error and exit status as before listening first', async (t) => {
  const { top, file, original } = oneMember(t, 300, (doc) => JSON.stringify(doc).replace('"/synthetic/r150.git":{', '"/synthetic/r150.git":{x'));
  const expected = (await readManifestFile(file).then(() => null, (err: unknown) => err)) as Error & { code: string };
  const proc = spawnOrigin(t, top);
  await listening(proc);
  t.equal(await proc.ended, 1, 'exit status 1');
  t.equal(proc.stderr().split('\n').filter((l) => l.startsWith('grok-origin: error: ')).join('\n'), `grok-origin: error: ${describeError(expected)} [${expected.code}]`);
  t.notOk(existsSync(path.join(top, '.manifest.js.gz.origin')), 'no handoff file left for hooks');
  t.ok(readFileSync(file).equals(original), 'the file untouched');
});
