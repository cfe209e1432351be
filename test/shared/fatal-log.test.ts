/**
 * A one-shot command's fatal error and its stop by a signal reach `[core] log`, not only stderr: a
 * timer's failures are found with the README's jq recipe. The per-repository error line carries
 * `action`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import t from 'tap';
import { BIN } from '../helpers/fixture.js';
import { GIT_ENV, makeRepo } from '../helpers/git.js';
import { startTestOrigin } from '../helpers/origin.js';
import { runBin } from '../helpers/cli.js';
import { tmpDir } from '../helpers/tmp.js';

const JQ = spawnSync('jq', ['--version']).status === 0;

interface Line {
  level: number;
  msg: string;
  action?: string;
  code?: string;
  signal?: string;
  repo?: string;
}

function lines(file: string): Line[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line) : [];
}

/** The README's recipe: errors and worse, their messages. */
function jqErrors(file: string): string {
  return spawnSync('jq', ['-rR', 'fromjson? | select(.level >= 50) | .msg', file], { encoding: 'utf8' }).stdout;
}

function pullConf(dir: string, site: string): { conf: string; log: string } {
  const mirror = path.join(dir, 'mirror');
  mkdirSync(mirror, { recursive: true });
  const log = path.join(dir, 'pull.log');
  const conf = path.join(dir, 'pull.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${mirror}\nmanifest = ${mirror}/manifest.js.gz\nlog = ${log}\n[remote]\nsite = ${site}\nmanifest = ${site}/manifest.js.gz\n[pull]\nprojectslist =\n`);
  return { conf, log };
}

async function listen(t: Parameters<typeof tmpDir>[0], handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A port nothing listens on (a moment ago something did; nothing else here takes ports). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

t.test('fatal errors of a one-shot grok-pull are in [core] log, with their code', async (t) => {
  const notFound = await listen(t, (_req, res) => res.writeHead(404).end('no such file'));
  const cases = [
    { name: 'manifest 404', site: notFound, code: 'GROK_ERR_MANIFEST_FETCH', msg: /server answered 404/ },
    { name: 'origin unreachable', site: `http://127.0.0.1:${await freePort()}`, code: 'GROK_ERR_MANIFEST_FETCH', msg: /cannot fetch the manifest: .*ECONNREFUSED/ },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const dir = tmpDir(t);
      const { conf, log } = pullConf(dir, c.site);
      const res = await runBin(BIN.pull, ['-c', conf]);
      t.equal(res.code, 1, res.stderr);
      t.match(res.stderr, new RegExp(`^grok-pull: error: .*\\[${c.code}\\]$`, 'm'));
      const fatal = lines(log).filter((l) => l.level === 60);
      t.equal(fatal.length, 1, 'one critical line in the log');
      t.match(fatal[0], { action: 'exit', code: c.code, msg: c.msg });
      t.equal(res.stderr.match(/error:/g)?.length, 1, 'said once on stderr, as before');
      if (JQ) t.match(jqErrors(log), c.msg, "the README's jq recipe finds it");
    });
  }
});

t.test('a one-shot command stopped by SIGINT or SIGTERM says so in [core] log and dies of the signal', async (t) => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    t.test(signal, async (t) => {
      const dir = tmpDir(t);
      let asked: () => void = () => {};
      const waiting = new Promise<void>((r) => (asked = r));
      // An origin that takes the request and never answers: the pass is under way when the signal comes.
      const site = await listen(t, () => asked());
      const { conf, log } = pullConf(dir, site);
      const child = spawn(process.execPath, [BIN.pull, '-c', conf], { env: GIT_ENV, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const ended = new Promise<[number | null, string | null]>((r) => child.on('close', (code, sig) => r([code, sig])));
      await waiting;
      child.kill(signal);
      const [code, sig] = await ended;
      t.same([code, sig], [null, signal], 'ended by the signal, as without a handler');
      t.match(stderr, new RegExp(`^grok-pull: error: stopped by ${signal}$`, 'm'));
      t.match(lines(log).filter((l) => l.level === 60), [{ action: 'exit', signal, msg: `stopped by ${signal}` }]);
      if (JQ) t.match(jqErrors(log), `stopped by ${signal}`);
    });
  }
});

t.test('grok-fsck and grok-manifest log their fatal errors too', async (t) => {
  const dir = tmpDir(t);
  const log = path.join(dir, 'fsck.log');
  const conf = path.join(dir, 'fsck.conf');
  // A toplevel that is not there: grok-manifest and grok-fsck both stop on it.
  writeFileSync(conf, `[core]\ntoplevel = ${dir}/gone\nmanifest = ${dir}/manifest.js.gz\nlog = ${log}\n[fsck]\nstatusfile = ${dir}/fsck.status.json\n`);
  const manifest = await runBin(BIN.manifest, ['--cfgfile', conf, '-p']);
  t.equal(manifest.code, 1, manifest.stderr);
  t.match(lines(log).filter((l) => l.level === 60), [{ action: 'exit', code: 'GROK_ERR_TOPLEVEL' }]);
  rmSync(log);
  const fsck = await runBin(BIN.fsck, ['-c', conf]);
  t.not(fsck.code, 0, fsck.stderr);
  t.match(fsck.stderr, /error:/);
  t.equal(lines(log).filter((l) => l.level === 60 && l.action === 'exit').length, 1, fsck.stderr);
});

t.test("a repository's error line carries repo and action", async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'a.git'));
  makeRepo(path.join(top, 'b.git'));
  const origin = await startTestOrigin(t, top);
  await fetch(`${origin.url}/manifest.js.gz`).then((r) => r.arrayBuffer());
  // Listed, but gone from the origin's disk: its clone fails, the other's does not.
  rmSync(path.join(top, 'b.git'), { recursive: true });
  const { conf, log } = pullConf(dir, origin.url);
  const res = await runBin(BIN.pull, ['-c', conf]);
  t.equal(res.code, 1, res.stderr);
  const errors = lines(log).filter((l) => l.level === 50 && l.repo === '/b.git');
  t.equal(errors.length, 1, JSON.stringify(lines(log)));
  t.equal(errors[0]?.action, 'init', 'what its line would carry had it worked (a new clone)');
  t.ok(existsSync(path.join(dir, 'mirror/a.git/HEAD')));
});
