/**
 * contrib/logrotate/grokmirror with the real logrotate against a running grok-origin and grok-pull -o
 * (a state file and config in a temp dir; the stand-in systemctl sends the SIGHUP to the two pids).
 * When the tests run as root, the daemons run as another user (nobody, through setpriv) the way an
 * origin runs as its repositories' owner, and logrotate as root the way Debian's timer runs it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { BIN, REPO_ROOT } from '../helpers/fixture.js';
import { checkoutUnreadableByNobody, SETPRIV } from '../helpers/other-user.js';
import { GIT_ENV, makeRepo } from '../helpers/git.js';
import { waitFor } from '../helpers/status-daemon.js';
import { tmpDir } from '../helpers/tmp.js';

const LOGROTATE = ['/usr/sbin/logrotate', '/sbin/logrotate', '/usr/bin/logrotate'].find((p) => existsSync(p));
const UNREADABLE = checkoutUnreadableByNobody();
const ROOT = process.getuid?.() === 0;
const OTHER_UID = 65534;
const shipped = readFileSync(path.join(REPO_ROOT, 'contrib/logrotate/grokmirror'), 'utf8');
const noLogrotate = LOGROTATE ? false : 'logrotate not installed (.ci/run installs it)';

interface Daemon {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited(): boolean;
  readonly ended: Promise<number | null>;
}

/** One of our commands as the daemons' user: nobody when we are root, else ourselves. */
function start(bin: string, args: string[]): Daemon {
  // tap puts its loaders back into NODE_OPTIONS on every spawn (they would write into .tap as the
  // other user): `env -u` drops them in between.
  const argv = ['env', '-u', 'NODE_OPTIONS', process.execPath, bin, ...args];
  const cmd = ROOT ? [SETPRIV!, `--reuid=${OTHER_UID}`, `--regid=${OTHER_UID}`, '--clear-groups', ...argv] : argv;
  const child = spawn(cmd[0]!, cmd.slice(1), { env: { ...GIT_ENV, HOME: '/nonexistent' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let done = false;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const ended = new Promise<number | null>((resolve) => child.on('close', (code) => ((done = true), resolve(code))));
  return { child, stdout: () => out, stderr: () => err, exited: () => done, ended };
}

/** A toplevel served by grok-origin and mirrored by grok-pull -o, both logging into `logs`. */
async function setUp(t: Test) {
  const dir = tmpDir(t);
  chmodSync(dir, 0o755);
  const logs = path.join(dir, 'log');
  const bin = path.join(dir, 'bin');
  mkdirSync(logs);
  mkdirSync(bin);
  makeRepo(path.join(dir, 'top/a.git'));
  mkdirSync(path.join(dir, 'mirror'));
  if (ROOT) for (const p of ['top', 'top/a.git', 'mirror', 'log']) chownTree(path.join(dir, p));
  const originConf = path.join(dir, 'origin.conf');
  writeFileSync(originConf, `[core]\ntoplevel = ${dir}/top\nmanifest = ${dir}/top/manifest.js.gz\nlog = ${logs}/origin.log\n[origin]\nlisten = 127.0.0.1:0\n`);
  const origin = start(BIN.origin, ['-c', originConf]);
  t.teardown(() => void (origin.exited() || origin.child.kill('SIGKILL')));
  await waitFor('grok-origin listening', () => /listening on http/.test(origin.stdout()) || origin.exited());
  const url = /listening on (\S+)/.exec(origin.stdout())?.[1];
  if (!url) throw new Error(`grok-origin did not start: ${origin.stderr()}`);
  const pullConf = path.join(dir, 'pull.conf');
  writeFileSync(pullConf, `[core]\ntoplevel = ${dir}/mirror\nmanifest = ${dir}/mirror/manifest.js.gz\nlog = ${logs}/pull.log\n[remote]\nsite = ${url}\nmanifest = ${url}/manifest.js.gz\n[pull]\nrefresh = 3600\nprojectslist =\n`);
  const pull = start(BIN.pull, ['-o', '-c', pullConf]);
  t.teardown(() => void (pull.exited() || pull.child.kill('SIGKILL')));
  await waitFor('the mirror cloned', () => existsSync(path.join(dir, 'mirror/a.git/HEAD')) && /"cloned|cloned /.test(read(path.join(logs, 'pull.log'))));
  // The stand-in systemctl sends what `systemctl kill --kill-who=main -s HUP` would, to the two daemons.
  writeFileSync(path.join(bin, 'systemctl'), `#!/bin/sh\necho "$@" >> "${dir}/systemctl.calls"\nkill -HUP ${origin.child.pid} ${pull.child.pid}\n`);
  chmodSync(path.join(bin, 'systemctl'), 0o755);
  const rotate = (conf: string) => {
    const file = path.join(dir, 'logrotate.conf');
    writeFileSync(file, conf.replaceAll('/var/log/grokmirror', logs), { mode: 0o644 });
    return spawnSync(LOGROTATE!, ['-f', '-s', path.join(dir, 'state'), file], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8' });
  };
  return { dir, logs, origin, pull, rotate };
}

function chownTree(p: string): void {
  chownSync(p, OTHER_UID, OTHER_UID);
  if (statSync(p).isDirectory()) for (const e of readdirSync(p)) chownTree(path.join(p, e));
}

function read(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

async function stopBoth(t: Test, d: Awaited<ReturnType<typeof setUp>>): Promise<void> {
  d.origin.child.kill('SIGTERM');
  d.pull.child.kill('SIGTERM');
  t.equal(await d.origin.ended, 0, `grok-origin stopped cleanly: ${d.origin.stderr()}`);
  t.equal(await d.pull.ended, 0, `grok-pull -o stopped cleanly: ${d.pull.stderr()}`);
}

t.test('the shipped file keeps each log its daemon\'s: an origin under another user than the mirror user reopens its new file', { skip: noLogrotate || (!ROOT ? 'needs root: the daemons run as another user than logrotate' : !SETPRIV ? 'setpriv not found' : UNREADABLE) }, async (t) => {
  const d = await setUp(t);
  // The mirror user of the sample is one the daemons do not run as (root here, logrotate's own).
  const res = d.rotate(shipped.replaceAll('mirror mirror', 'root root'));
  t.equal(res.status, 0, res.stderr);
  t.equal(read(path.join(d.dir, 'systemctl.calls')), 'kill --kill-who=main -s HUP grok-pull@*.service grok-origin@*.service\n');
  for (const f of ['origin.log', 'pull.log']) {
    t.equal(statSync(path.join(d.logs, f)).uid, OTHER_UID, `the new ${f} belongs to the daemon's user`);
    t.ok(existsSync(path.join(d.logs, `${f}.1`)), `${f} rotated`);
  }
  await sleep(500);
  t.notOk(d.origin.exited(), `grok-origin survived the rotation: ${d.origin.stderr()}`);
  t.notOk(d.pull.exited(), `grok-pull -o survived the rotation: ${d.pull.stderr()}`);
  await stopBoth(t, d);
  t.match(read(path.join(d.logs, 'origin.log')), /SIGTERM: stopping/, 'grok-origin writes into the new file');
  t.match(read(path.join(d.logs, 'pull.log')), /"msg":"stopped"/, 'grok-pull -o writes into the new file');
  t.notMatch(d.origin.stderr() + d.pull.stderr(), /cannot reopen/);
});

t.test('a new log file the daemon cannot open: it keeps the old one, says so on stderr, and retries until it can', { skip: noLogrotate || (ROOT && !SETPRIV ? 'setpriv not found (root writes any file)' : UNREADABLE) }, async (t) => {
  const d = await setUp(t);
  // Recreated unwritable: what a fixed owner other than the daemon's gives it (EACCES on reopen).
  const res = d.rotate(shipped.replace(/^(\s*)create\b.*$/m, '$1create 0444').replace(/^\s*su\s.*$/m, ''));
  t.equal(res.status, 0, res.stderr);
  t.equal(statSync(path.join(d.logs, 'origin.log')).mode & 0o777, 0o444);
  for (const [name, p] of [['grok-origin', d.origin], ['grok-pull', d.pull]] as const) {
    await waitFor(`${name} reports the failed reopen`, () => /cannot reopen/.test(p.stderr()) || p.exited());
    t.notOk(p.exited(), `${name} still running`);
    t.match(p.stderr(), new RegExp(`^${name}: warning: cannot reopen log file \\S+\\.log \\(EACCES\\): still writing to the file held open; retrying$`, 'm'));
    t.notMatch(p.stderr(), /\n\s+at /, 'no stack trace');
  }
  d.origin.child.kill('SIGHUP');
  await sleep(300);
  t.equal(d.origin.stderr().match(/cannot reopen/g)?.length, 1, 'said once, not on every attempt');
  for (const f of ['origin.log', 'pull.log']) chmodSync(path.join(d.logs, f), 0o644);
  for (const [name, p] of [['grok-origin', d.origin], ['grok-pull', d.pull]] as const) {
    await waitFor(`${name} reopens on its own`, () => /reopened/.test(p.stderr()) || p.exited(), 20_000);
    t.match(p.stderr(), new RegExp(`^${name}: warning: log file \\S+\\.log reopened$`, 'm'));
  }
  await stopBoth(t, d);
  t.match(read(path.join(d.logs, 'origin.log')), /SIGTERM: stopping/, 'lines after the retry go to the new file');
  t.notMatch(read(path.join(d.logs, 'origin.log.1')), /SIGTERM: stopping/);
  t.match(read(path.join(d.logs, 'pull.log')), /"msg":"stopped"/);
});
