/**
 * Two one-shot grok-pull on one config at the same moment (a hand run beside the timer's): one pass
 * runs, the other says "another grok-pull pass is running (pid N)" and does nothing, exiting 0;
 * every repository is cloned, and logged `cloned`, once. A pass beside the daemon waits for the
 * daemon's pass to end rather than running through it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { DAEMON_PID, PASS_PID } from '../../replica/daemon-lock.js';
import { BIN } from '../helpers/fixture.js';
import { fsckOk, makeRepo } from '../helpers/git.js';
import { spawnKillable, type Killable } from '../helpers/killable.js';
import { startTestOrigin } from '../helpers/origin.js';
import { waitFor } from '../helpers/status-daemon.js';
import { tmpDir } from '../helpers/tmp.js';

const NAMES = ['a', 'b', 'c', 'd', 'e'];

t.test('two concurrent one-shot passes: one runs, the other names it and does nothing', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  for (const n of NAMES) makeRepo(path.join(top, `${n}.git`));
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  const logFile = path.join(dir, 'pull.log');
  const conf = path.join(dir, 'pull.conf');
  // The hook keeps the first pass going long enough for the second to start inside it, however
  // the two start-ups interleave on a loaded machine.
  writeFileSync(conf, `[core]\ntoplevel = ${mirror}\nmanifest = ${mirror}/manifest.js.gz\nlog = ${logFile}\n[remote]\nsite = ${origin.url}\nmanifest = ${origin.url}/manifest.js.gz\n[pull]\nprojectslist =\npost_work_complete_hook = /bin/sleep 3\n`);
  const started: Killable[] = [];
  t.teardown(() => void started.forEach((p) => p.exited() || p.kill('group')));
  const run = () => {
    const p = spawnKillable(BIN.pull, ['-c', conf]);
    started.push(p);
    return p;
  };
  const [one, two] = [run(), run()];
  const codes = await Promise.all([one.ended, two.ended]);
  t.same(codes, [0, 0], `${one.stderr()}\n${two.stderr()}`);
  const said = [one, two].filter((p) => /another grok-pull pass is running/.test(p.stderr()));
  t.equal(said.length, 1, 'exactly one of them stood aside', { one: one.stderr(), two: two.stderr() });
  const [aside, ran] = said[0] === one ? [one, two] : [two, one];
  t.equal(aside.stderr(), `grok-pull: another grok-pull pass is running (pid ${ran.pid}) on toplevel ${mirror}; this one does nothing\n`);
  const records = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { pid: number; msg: string });
  const cloned = records.filter((r) => /^cloned /.test(r.msg));
  t.same(cloned.map((r) => r.msg).sort(), NAMES.map((n) => `cloned /${n}.git`), 'each repository logged cloned once');
  t.same([...new Set(cloned.map((r) => r.pid))], [ran.pid], 'by the pass that ran');
  t.ok(records.some((r) => r.pid === aside.pid && /another grok-pull pass is running/.test(r.msg)), 'the one aside says so in the log too');
  t.notOk(existsSync(path.join(mirror, PASS_PID)), 'the pid file goes with the pass');
  for (const n of NAMES) t.ok(fsckOk(path.join(mirror, `${n}.git`)).ok, `${n}.git fsck`);
});

t.test('the pass lock names its holder while a pass runs', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'a.git'));
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  const conf = path.join(dir, 'pull.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${mirror}\nmanifest = ${mirror}/manifest.js.gz\n[remote]\nsite = ${origin.url}\nmanifest = ${origin.url}/manifest.js.gz\n[pull]\nprojectslist =\npost_work_complete_hook = /bin/sleep 2\n`);
  const p = spawnKillable(BIN.pull, ['-c', conf]);
  t.teardown(() => void (p.exited() || p.kill('group')));
  await waitFor('the pass cloned a.git', () => existsSync(path.join(mirror, 'a.git/HEAD')), 60_000);
  t.equal(readFileSync(path.join(mirror, PASS_PID), 'utf8'), `${p.pid}\n`);
  t.equal(await p.ended, 0, p.stderr());
});

t.test('a daemon waiting for a one-shot pass to end stops at once when told to', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'a.git'));
  const origin = await startTestOrigin(t, top);
  const mirror = path.join(dir, 'mirror');
  const conf = path.join(dir, 'pull.conf');
  // The one-shot's hook keeps its pass (and the pass lock) for a minute: the daemon, started inside
  // it, waits for the lock before its first pass.
  writeFileSync(conf, `[core]\ntoplevel = ${mirror}\nmanifest = ${mirror}/manifest.js.gz\n[remote]\nsite = ${origin.url}\nmanifest = ${origin.url}/manifest.js.gz\n[pull]\nrefresh = 3600\nprojectslist =\npost_work_complete_hook = /bin/sleep 60\n`);
  const started: Killable[] = [];
  t.teardown(() => void started.forEach((p) => p.exited() || p.kill('group')));
  const oneShot = spawnKillable(BIN.pull, ['-c', conf]);
  started.push(oneShot);
  await waitFor('the one-shot holds the pass lock', () => existsSync(path.join(mirror, PASS_PID)) && readFileSync(path.join(mirror, PASS_PID), 'utf8') === `${oneShot.pid}\n`, 60_000);
  const daemon = spawnKillable(BIN.pull, ['-o', '-c', conf]);
  started.push(daemon);
  await waitFor('the daemon is up, waiting', () => existsSync(path.join(mirror, DAEMON_PID)) || daemon.exited(), 60_000);
  t.notOk(daemon.exited(), daemon.stderr());
  daemon.child.kill('SIGTERM');
  t.equal(await daemon.ended, 0, daemon.stderr());
  t.notOk(oneShot.exited(), 'the daemon stopped while the one-shot pass still ran (it did not wait for that pass to end)');
  t.equal(readFileSync(path.join(mirror, PASS_PID), 'utf8'), `${oneShot.pid}\n`, 'and left the one-shot its pass lock');
  t.notOk(existsSync(path.join(mirror, DAEMON_PID)), 'its pid file goes with it');
  oneShot.kill('group');
  await oneShot.ended;
  t.ok(fsckOk(path.join(mirror, 'a.git')).ok);
});
