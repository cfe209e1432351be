/**
 * Two grok-pull -o on one config: the second says "already running, pid N" and exits 1 before it
 * touches anything; one-shot passes still run beside the daemon; a daemon killed with -9 leaves no
 * lock behind (the kernel drops it) and its stale pid file does not stop the next.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { DAEMON_PID } from '../../replica/daemon-lock.js';
import { BIN } from '../helpers/fixture.js';
import { runBin } from '../helpers/cli.js';
import { fsckOk, makeRepo } from '../helpers/git.js';
import { spawnKillable, type Killable } from '../helpers/killable.js';
import { startTestOrigin } from '../helpers/origin.js';
import { waitFor } from '../helpers/status-daemon.js';
import { tmpDir } from '../helpers/tmp.js';

t.test('a second grok-pull -o on one config is refused, naming the first one', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'a.git'));
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  const conf = path.join(dir, 'pull.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${mirror}\nmanifest = ${mirror}/manifest.js.gz\n[remote]\nsite = ${origin.url}\nmanifest = ${origin.url}/manifest.js.gz\n[pull]\nrefresh = 3600\nprojectslist =\n`);
  const started: Killable[] = [];
  t.teardown(() => void started.forEach((p) => p.exited() || p.kill('group')));
  const daemon = (): Killable => {
    const p = spawnKillable(BIN.pull, ['-o', '-c', conf]);
    started.push(p);
    return p;
  };
  const pidFile = path.join(mirror, DAEMON_PID);

  const first = daemon();
  await waitFor('the first daemon cloned', () => existsSync(path.join(mirror, 'a.git/HEAD')) && existsSync(pidFile), 60_000);
  t.equal(readFileSync(pidFile, 'utf8'), `${first.pid}\n`);
  const second = daemon();
  const code = await Promise.race([second.ended, sleep(30_000).then(() => 'still running')]);
  t.equal(code, 1, second.stderr());
  t.equal(second.stderr(), `grok-pull: error: grok-pull -o is already running for toplevel ${mirror}, pid ${first.pid} [GROK_ERR_ALREADY_RUNNING]\n`);
  t.notOk(first.exited(), 'the first one carries on');

  const oneShot = await runBin(BIN.pull, ['-c', conf, '-n']);
  t.equal(oneShot.code, 0, `a one-shot pass beside it still runs: ${oneShot.stderr}`);

  first.child.kill('SIGTERM');
  t.equal(await first.ended, 0, first.stderr());
  t.notOk(existsSync(pidFile), 'the pid file goes with a clean stop');

  const third = daemon();
  await waitFor('the next daemon', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8') === `${third.pid}\n`);
  third.kill('group');
  await third.ended;
  t.ok(existsSync(pidFile), 'kill -9 leaves its pid file');
  const fourth = daemon();
  await waitFor('a daemon after a kill -9', () => readFileSync(pidFile, 'utf8') === `${fourth.pid}\n` || fourth.exited());
  t.notOk(fourth.exited(), `starts: ${fourth.stderr()}`);
  fourth.child.kill('SIGTERM');
  t.equal(await fourth.ended, 0);
  t.ok(fsckOk(path.join(mirror, 'a.git')).ok);
});
