/**
 * grok-origin (and grok-pull -o's status_listen) on an address it cannot listen on: one line with a
 * hint, and nothing written (a first start used to walk the toplevel and write the manifest, then die
 * of node's bare `listen EADDRINUSE`).
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import t from 'tap';
import { listenError } from '../../../origin/server/listen-check.js';
import { BIN } from '../../helpers/fixture.js';
import { runBin } from '../../helpers/cli.js';
import { makeRepo } from '../../helpers/git.js';
import { tmpDir } from '../../helpers/tmp.js';

t.test('the hints, by errno and address kind', async (t) => {
  const rows: [string, { host?: string; port?: number; socket?: string }, RegExp | null][] = [
    ['EADDRINUSE', { host: '127.0.0.1', port: 8080 }, /^cannot listen on 127\.0\.0\.1:8080 \(EADDRINUSE\): another process holds that port \(another grok-origin\? `ss -ltnp 'sport = :8080'` names it\); stop it, or set \[origin\] listen or --listen$/],
    ['EADDRINUSE', { host: '::1', port: 8080 }, /^cannot listen on \[::1\]:8080 \(EADDRINUSE\)/],
    ['EADDRINUSE', { socket: '/run/grok/o.sock' }, /^cannot listen on \/run\/grok\/o\.sock \(EADDRINUSE\): another grok-origin answers on that socket/],
    ['EACCES', { host: '0.0.0.0', port: 80 }, /\(EACCES\): ports below 1024 need root or CAP_NET_BIND_SERVICE/],
    ['EADDRNOTAVAIL', { host: '192.0.2.1', port: 8080 }, /\(EADDRNOTAVAIL\): no interface of this host has that address/],
    ['EMFILE', { host: '127.0.0.1', port: 8080 }, null],
  ];
  for (const [code, l, msg] of rows) {
    const err = Object.assign(new Error(`listen ${code}`), { code });
    const out = listenError(err, l);
    if (msg) t.match(out, { code: 'GROK_ERR_LISTEN', message: msg }, `${code} ${JSON.stringify(l)}`);
    else t.equal(out, err, 'other errors unchanged');
  }
});

t.test('a port in use: one line with the hint, exit 1, and no manifest written', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'a.git'));
  const holder: Server = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  t.teardown(() => void holder.close());
  const port = (holder.address() as { port: number }).port;
  const conf = path.join(dir, 'origin.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${top}\nmanifest = ${top}/manifest.js.gz\n[origin]\nlisten = 127.0.0.1:${port}\n`);
  for (const args of [['-c', conf], ['-c', conf, '--listen', `127.0.0.1:${port}`]]) {
    const res = await runBin(BIN.origin, args);
    t.equal(res.code, 1, res.stderr);
    t.equal(res.stderr, `grok-origin: error: cannot listen on 127.0.0.1:${port} (EADDRINUSE): another process holds that port (another grok-origin? \`ss -ltnp 'sport = :${port}'\` names it); stop it, or set [origin] listen or --listen [GROK_ERR_LISTEN]\n`);
    t.equal(res.stdout, '');
    t.notOk(existsSync(path.join(top, 'manifest.js.gz')), 'no manifest written');
    t.same(readdirSync(top).sort(), ['a.git'], 'nothing else either');
  }
});

t.test("grok-pull -o's status_listen on a port in use: the same one line, before any pass", async (t) => {
  const dir = tmpDir(t);
  const holder: Server = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  t.teardown(() => void holder.close());
  const port = (holder.address() as { port: number }).port;
  const mirror = path.join(dir, 'mirror');
  const conf = path.join(dir, 'mirror.conf');
  // The origin is nowhere (port 9): a pass would fail on it, and none must start.
  writeFileSync(conf, `[core]\ntoplevel = ${mirror}\nmanifest = ${mirror}/manifest.js.gz\n[remote]\nsite = http://127.0.0.1:9\nmanifest = http://127.0.0.1:9/manifest.js.gz\n[pull]\nstatus_listen = 127.0.0.1:${port}\n`);
  const res = await runBin(BIN.pull, ['-o', '-c', conf]);
  t.equal(res.code, 1, res.stderr);
  t.equal(res.stderr, `grok-pull: error: cannot listen on 127.0.0.1:${port} (EADDRINUSE): another process holds that port (another grok-pull -o? \`ss -ltnp 'sport = :${port}'\` names it); stop it, or set [pull] status_listen [GROK_ERR_LISTEN]\n`);
  t.notOk(existsSync(path.join(mirror, 'manifest.js.gz')), 'no manifest written');
});
