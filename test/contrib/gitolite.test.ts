/**
 * contrib/gitolite: grok-pull with `[remote] manifest_command` set to grok-get-manifest.sh, reading
 * the origin's manifest file, or over "ssh" (a stand-in that runs the gitolite command as gitolite
 * would) from get-grok-manifest.command. Repositories travel over real HTTP from a test origin.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { acquireLock, lockPathFor } from '../../shared/lock.js';
import { runBin } from '../helpers/cli.js';
import { BIN, REPO_ROOT } from '../helpers/fixture.js';
import { fsckOk, gitDir, makeRepo, pushCommit } from '../helpers/git.js';
import { startTestOrigin } from '../helpers/origin.js';
import { tmpDir } from '../helpers/tmp.js';

const DIR = path.join(REPO_ROOT, 'contrib/gitolite');
const GET = path.join(DIR, 'grok-get-manifest.sh');
const COMMAND = path.join(DIR, 'get-grok-manifest.command');

function script(file: string, text: string): string {
  writeFileSync(file, text);
  chmodSync(file, 0o755);
  return file;
}

/** Runs a shell script directly (runBin runs node). */
function sh(file: string, args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string } {
  const r = spawnSync('/bin/sh', [file, ...args], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout };
}

/**
 * Waits until the clock is past the second the file was last written in. grok-get-manifest.sh answers
 * 127 only for a manifest older than the second of the last fetch (one written in that same second
 * is fetched again rather than missed), so a test expecting "unchanged" next fetches after this.
 */
async function pastMtime(file: string): Promise<void> {
  const mtime = Math.floor(statSync(file).mtimeMs / 1000);
  while (Math.floor(Date.now() / 1000) <= mtime) await new Promise((r) => setTimeout(r, 50));
}

async function notify(url: string, paths: string[]): Promise<void> {
  const res = await fetch(`${url}/_grok/notify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ paths }) });
  if (res.status !== 200) throw new Error(`notify: ${res.status} ${await res.text()}`);
}

t.test('manifest_command reading the origin\'s file: mirrors, 127 when unchanged, a pass left unfinished gets the manifest again', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'pub/a.git'));
  makeRepo(path.join(top, 'pub/b.git'));
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  const conf = path.join(dir, 'replica.conf');
  writeFileSync(
    conf,
    `[core]\ntoplevel = ${mirror}\nmanifest = \${toplevel}/manifest.js.gz\n[remote]\nsite = ${origin.url}\n` +
      `manifest_command = ${GET} file://${top}/manifest.js.gz \${core:manifest}\n`,
  );
  const pull = () => runBin(BIN.pull, ['-c', conf, '-v']);
  const originManifest = path.join(top, 'manifest.js.gz');

  await pastMtime(originManifest);
  const first = await pull();
  t.equal(first.code, 0, first.stderr);
  t.match(first.stderr, /2 cloned, 0 updated, 0 fixed, 0 purged, 0 deferred, 0 failed/);
  t.ok(existsSync(path.join(mirror, '.manifest.js.gz.command')), 'the fetch time is kept beside the local manifest');

  const same = await pull();
  t.equal(same.code, 0, same.stderr);
  t.match(same.stderr, /remote manifest unchanged/, 'exit 127: unchanged');

  const sha = pushCommit(path.join(top, 'pub/a.git'));
  await notify(origin.url, [path.join(top, 'pub/a.git')]);
  const changed = await pull();
  t.equal(changed.code, 0, changed.stderr);
  t.match(changed.stderr, /0 cloned, 1 updated/);
  t.equal(gitDir(path.join(mirror, 'pub/a.git'), ['rev-parse', 'master']), sha);

  // c.git is locked here, so the pass defers it and grok-pull does not record the fetch: the next
  // run must print the manifest again rather than answer 127 (grokmirror's sample forgot the work).
  makeRepo(path.join(top, 'pub/c.git'));
  await notify(origin.url, [path.join(top, 'pub/c.git')]);
  const lock = await acquireLock(lockPathFor(path.join(mirror, 'pub/c.git')));
  const deferred = await pull();
  t.match(deferred.stderr, /0 cloned, 0 updated, 0 fixed, 0 purged, 1 deferred/);
  await lock.release();
  await pastMtime(originManifest);
  const resumed = await pull();
  t.equal(resumed.code, 0, resumed.stderr);
  t.match(resumed.stderr, /1 cloned/, 'the unfinished pass is redone');
  t.match((await pull()).stderr, /remote manifest unchanged/, 'and then it is unchanged again');

  const forced = await runBin(BIN.pull, ['-c', conf, '-v', '-n']);
  t.notMatch(forced.stderr, /remote manifest unchanged/, '-n: --force prints it regardless');

  for (const r of ['pub/a.git', 'pub/b.git', 'pub/c.git']) {
    const f = fsckOk(path.join(mirror, r));
    t.ok(f.ok, `${r}: ${f.output}`);
  }
});

t.test('over ssh from the gitolite command; its refusals and ssh failures are exit 1 with the reason', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'pub/a.git'));
  const origin = await startTestOrigin(t, top);
  // Stands in for `ssh git@host get-grok-manifest SINCE` reaching gitolite, which sets GL_USER from
  // the key and runs the command with the arguments.
  const ssh = script(path.join(dir, 'fake-ssh'), `#!/bin/sh\nshift\n[ "$1" = get-grok-manifest ] || exit 1\nshift\nGL_USER=replica1 exec "${COMMAND}" "$@"\n`);
  const env = { GROK_SSH: ssh, GROK_MANIFEST: path.join(top, 'manifest.js.gz'), GROK_MIRRORS: 'replica0 replica1' };
  const mirror = path.join(dir, 'mirror');
  const conf = path.join(dir, 'replica.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${mirror}\n[remote]\nsite = ${origin.url}\nmanifest_command = ${GET} ssh://git@origin.example \${core:manifest}\n`);

  await pastMtime(env.GROK_MANIFEST);
  const first = await runBin(BIN.pull, ['-c', conf, '-v'], { env });
  t.equal(first.code, 0, first.stderr);
  t.match(first.stderr, /1 cloned/);
  t.match((await runBin(BIN.pull, ['-c', conf, '-v'], { env })).stderr, /remote manifest unchanged/);
  const f = fsckOk(path.join(mirror, 'pub/a.git'));
  t.ok(f.ok, f.output);

  const local = path.join(mirror, 'manifest.js.gz');
  const cmd = (args: string[], extra: NodeJS.ProcessEnv) => sh(COMMAND, args, { GROK_MANIFEST: env.GROK_MANIFEST, GROK_MIRRORS: 'replica1', ...extra });
  t.match(cmd(['0'], { GL_USER: 'intruder' }), { code: 1, stdout: /intruder may not read the manifest/ });
  t.match(cmd(['0'], {}), { code: 1, stdout: /run me through gitolite/ });
  t.match(cmd(['1; rm -rf /'], { GL_USER: 'replica1' }), { code: 1, stdout: /usage/ });
  t.match(cmd([String(2 ** 40)], { GL_USER: 'replica1' }), { code: 127, stdout: '' });
  const all = cmd([], { GL_USER: 'replica1' });
  t.equal(all.code, 0);
  t.ok(JSON.parse(all.stdout)['/pub/a.git'], 'no SINCE: the whole manifest, gunzipped');

  const down = script(path.join(dir, 'ssh-down'), '#!/bin/sh\necho "ssh: connect to host origin.example port 22: Connection refused" >&2\nexit 255\n');
  t.match(sh(GET, ['ssh://git@origin.example', local], { GROK_SSH: down }), {
    code: 1,
    stdout: /exit 255: ssh: connect to host origin\.example port 22: Connection refused/,
  });
  const refused = sh(GET, ['ssh://git@origin.example', local, '--force'], { ...env, GROK_MIRRORS: 'someone-else' });
  t.match(refused, { code: 1, stdout: /^replica1 may not read the manifest\n$/ });
  t.match(sh(GET, [`file://${dir}/missing.js.gz`, local]), { code: 1, stdout: /cannot read .*missing\.js\.gz/ });
});
