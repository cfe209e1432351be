import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { handoffPathFor } from '../../../origin/manifest/handoff.js';
import { BIN, REPO_ROOT } from '../../helpers/fixture.js';
import { GIT_ENV, makeRepo, pushCommit } from '../../helpers/git.js';
import { readM } from '../../helpers/manifest.js';
import { readEvents } from '../../helpers/origin.js';
import { tmpDir } from '../../helpers/tmp.js';

const HOOK = path.join(REPO_ROOT, 'contrib/hooks/post-receive-notify.sh');

/** Starts grok-origin as a real process and waits for its "listening on" line. */
async function startProcess(conf: string): Promise<{ url: string; stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN.origin, '-c', conf], { env: GIT_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      const m = /listening on (\S+)/.exec(d);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`grok-origin exited ${code}: ${err}`)));
  });
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        child.on('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}

t.test('grok-origin --help lists every flag; a missing config is a one-line error', async (t) => {
  const help = spawnSync(process.execPath, [BIN.origin, '--help'], { encoding: 'utf8' });
  t.equal(help.status, 0);
  for (const flag of ['-c, --config', '--listen', '-v, --verbose', '--version']) t.ok(help.stdout.includes(flag), flag);
  const bad = spawnSync(process.execPath, [BIN.origin, '-c', '/nonexistent/grok.conf'], { encoding: 'utf8' });
  t.equal(bad.status, 1);
  t.match(bad.stderr, /^grok-origin: error: \/nonexistent\/grok\.conf: cannot read config file \(ENOENT\) \[GROK_ERR_CONFIG_NOT_FOUND\]\n$/);
  const badListen = spawnSync(process.execPath, [BIN.origin, '-c', path.join(REPO_ROOT, 'grokmirror.conf.example'), '--listen', 'nowhere'], { encoding: 'utf8' });
  t.equal(badListen.status, 1);
  t.match(badListen.stderr, /listen address "nowhere" is not HOST:PORT/);
});

t.test('the shell hook notifies a running server with one curl, and falls back when it is gone', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  const repo = path.join(top, 'pub/r.git');
  makeRepo(repo);
  makeRepo(path.join(top, 'pub/other.git'));
  const manifest = path.join(top, 'manifest.js.gz');
  const conf = path.join(dir, 'grok.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${top}\nmanifest = ${manifest}\n[origin]\nlisten = 127.0.0.1:0\n`);
  // grok-manifest on PATH for the fallback, as an installed package would provide it
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'grok-manifest'), `#!/bin/sh\nexec "${process.execPath}" "${BIN.manifest}" "$@"\n`);
  chmodSync(path.join(bin, 'grok-manifest'), 0o755);
  const hookEnv = { ...GIT_ENV, GIT_DIR: repo, GROK_MANIFEST: manifest, GROK_TOPLEVEL: top, PATH: `${bin}:${process.env.PATH}` };

  const server = await startProcess(conf);
  t.ok(existsSync(handoffPathFor(manifest)), 'handoff file written');
  const feed = readEvents(`${server.url}/_grok/events`, { count: 1 });
  await new Promise((r) => setTimeout(r, 200));
  pushCommit(repo, { date: 1_750_000_000 });
  const hook = spawnSync('sh', [HOOK], { env: hookEnv, encoding: 'utf8' });
  t.equal(hook.status, 0, hook.stderr);
  t.equal(hook.stderr, '', 'no fallback message: the server took it');
  t.match((await feed).find((e) => e.event === 'change'), { data: { key: '/pub/r.git' } });
  // use_now, like the fallback's grok-manifest -n: the push time, not the commit's date
  t.ok(Math.abs((await readM(manifest))['/pub/r.git']!.modified - Date.now() / 1000) < 120, 'modified is now');

  t.equal(await server.stop(), 0, 'SIGTERM: clean exit');
  t.notOk(existsSync(handoffPathFor(manifest)), 'handoff file removed');
  pushCommit(repo, { date: 1_760_000_000 });
  const fallback = spawnSync('sh', [HOOK], { env: hookEnv, encoding: 'utf8' });
  t.equal(fallback.status, 0, fallback.stderr);
  const m = await readM(manifest);
  t.equal(m['/pub/r.git']!.fingerprint, readFileSync(path.join(repo, 'grokmirror.fingerprint'), 'utf8'), 'grok-manifest updated the file itself');
});
