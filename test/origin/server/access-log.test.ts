/**
 * grok-origin's access log over a real listener: one line per request with method, path, status,
 * bytes, time and client; info for git and manifest requests, debug for the rest; no query string,
 * no secret, whatever the request carried.
 */
import { Writable } from 'node:stream';
import path from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { Git } from '../../../shared/git/index.js';
import { startOrigin } from '../../../origin/server/origin.js';
import { runProcess } from '../../helpers/cli.js';
import { makeRepo } from '../../helpers/git.js';
import { testSettings } from '../../helpers/origin.js';
import { tmpDir } from '../../helpers/tmp.js';

t.test('one line per request, nothing secret in it', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'pub/r.git'));
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _enc, cb) => void (lines.push(chunk.toString('utf8')), cb()) });
  const log = pino({ level: 'debug' }, sink);
  const origin = await startOrigin(testSettings(top, 'notify_secret = notify-s3cret-42\n'), { git: new Git(), log, now: Date.now });
  t.teardown(() => origin.close());

  await (await fetch(`${origin.url}/manifest.js.gz?access_token=query-s3cret-17`)).arrayBuffer();
  await (await fetch(`${origin.url}/_grok/notify`, { method: 'POST', headers: { authorization: 'Bearer notify-s3cret-42', 'content-type': 'application/json' }, body: JSON.stringify({ paths: ['/pub/r.git'] }) })).arrayBuffer();
  await (await fetch(`${origin.url}/nowhere.git/info/refs?service=git-upload-pack`)).arrayBuffer();
  // a real clone, from another process (the server runs in this one)
  await runProcess('git', ['clone', '-q', '--bare', `${origin.url}/pub/r.git`, path.join(dir, 'clone.git')]);
  await new Promise((r) => setTimeout(r, 200));

  const access = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.action === 'access');
  const find = (method: string, p: string) => access.find((l) => l.method === method && l.path === p);
  const manifest = find('GET', '/manifest.js.gz');
  t.match(manifest, { level: 30, status: 200, client: '127.0.0.1' }, 'the manifest, at info, without its query string');
  t.ok(Number(manifest?.bytes) > 0 && typeof manifest?.ms === 'number', 'bytes and time');
  t.match(find('POST', '/_grok/notify'), { level: 20, status: 200 }, 'a notice, at debug');
  t.match(find('GET', '/nowhere.git/info/refs'), { level: 30, status: 404, repo: '/nowhere.git' }, 'a refused git request, at info');
  t.match(find('GET', '/pub/r.git/info/refs'), { level: 30, status: 200, repo: '/pub/r.git' }, "the clone's ref advertisement");
  const pack = find('POST', '/pub/r.git/git-upload-pack');
  t.match(pack, { level: 30, status: 200 }, "and its upload-pack");
  t.ok(Number(pack?.bytes) > 200, 'with the bytes sent');
  const text = lines.join('');
  t.notOk(text.includes('query-s3cret-17'), 'no query string anywhere in the log');
  t.notOk(text.includes('notify-s3cret-42'), 'no secret');
  t.notOk(text.includes(origin.token), "not the run's token either");
});
