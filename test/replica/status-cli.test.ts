/**
 * grok-pull --status, from the state passes leave in the toplevel, without the daemon: the last pass,
 * the failing repositories with git's message and the next retry; exit 0 all well, 1 failing, 3 no
 * pass yet. With a daemon running, its pid and its next refresh as the retry.
 */
import { existsSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { DAEMON_PID } from '../../replica/daemon-lock.js';
import { PASS_RECORD } from '../../replica/pass-record.js';
import { runBin } from '../helpers/cli.js';
import { BIN } from '../helpers/fixture.js';
import { makeRepo } from '../helpers/git.js';
import { spawnKillable } from '../helpers/killable.js';
import { waitFor } from '../helpers/status-daemon.js';
import { tmpDir } from '../helpers/tmp.js';

t.test('--status says which repositories fail, since when, and what git said', async (t) => {
  const dir = tmpDir(t);
  const origin = path.join(dir, 'origin');
  for (const n of ['a', 'b']) makeRepo(path.join(origin, `${n}.git`));
  t.equal((await runBin(BIN.manifest, ['-m', path.join(origin, 'manifest.js.gz'), '-t', origin])).code, 0);
  // b.git stays in the manifest but cannot be cloned: its objects are gone.
  renameSync(path.join(origin, 'b.git/objects'), path.join(dir, 'b-objects'));
  const mirror = path.join(dir, 'mirror');
  const conf = path.join(dir, 'pull.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${mirror}\nmanifest = ${mirror}/manifest.js.gz\n[remote]\nsite = ${origin}\nmanifest = file://${origin}/manifest.js.gz\n[pull]\nrefresh = 3600\n`);

  const never = await runBin(BIN.pull, ['-c', conf, '--status']);
  t.equal(never.code, 3, never.stderr);
  t.equal(never.stdout, `toplevel ${mirror}\nno pass recorded yet\n`);
  t.notOk(existsSync(mirror), '--status makes nothing');

  t.equal((await runBin(BIN.pull, ['-c', conf])).code, 1, 'b.git failed');
  t.equal((await runBin(BIN.pull, ['-c', conf])).code, 1, 'and again');
  const listing = readdirSync(mirror).sort();
  const failing = await runBin(BIN.pull, ['-c', conf, '--status']);
  t.equal(failing.code, 1, failing.stderr);
  const lines = failing.stdout.trim().split('\n');
  t.equal(lines[0], `toplevel ${mirror}`);
  t.match(lines[1], /^last pass: \d{4}-\d\d-\d\dT[\d:.]+Z \(\d+s ago, full, [\d.]+s, pid \d+\): 0 cloned, 0 updated, 0 fixed, 0 purged, 0 deferred, 1 failed$/);
  t.equal(lines[2], '1 repositories failing (next retry at the next grok-pull run):');
  t.match(lines[3], /^\/b\.git: .*(fatal|error|not a git repository|does not appear).* \(since [\d-]+T[\d:.]+Z, 2 passes in a row\)$/);
  t.equal(lines.length, 4);
  t.same(readdirSync(mirror).sort(), listing, '--status writes nothing');

  renameSync(path.join(dir, 'b-objects'), path.join(origin, 'b.git/objects'));
  const killedWrite = path.join(mirror, `.${PASS_RECORD}.0123456789ab.tmp`);
  writeFileSync(killedWrite, '{"lastPa');
  t.equal((await runBin(BIN.pull, ['-c', conf])).code, 0);
  t.notOk(existsSync(killedWrite), 'the temp file of a killed record write goes with the next pass');
  const well = await runBin(BIN.pull, ['-c', conf, '--status']);
  t.equal(well.code, 0, well.stdout);
  t.match(well.stdout, /: 1 cloned, 0 updated, 0 fixed, 0 purged, 0 deferred, 0 failed\nno repository failing\n$/);

  writeFileSync(path.join(mirror, PASS_RECORD), '{"cut sh');
  const torn = await runBin(BIN.pull, ['-c', conf, '--status']);
  t.equal(torn.code, 3);
  t.match(torn.stdout, /cannot read \.grok-pull-status\.json \(.*\); the next pass writes it again/);

  // The daemon records its passes too, and --status names it and its next refresh.
  const daemon = spawnKillable(BIN.pull, ['-c', conf, '-o']);
  t.teardown(() => void (daemon.exited() || daemon.kill('group')));
  await waitFor('the daemon recorded a pass', async () => (await runBin(BIN.pull, ['-c', conf, '--status'])).code === 0 && existsSync(path.join(mirror, DAEMON_PID)), 60_000);
  const running = await runBin(BIN.pull, ['-c', conf, '--status']);
  t.match(running.stdout, new RegExp(`^toplevel ${mirror}; grok-pull -o running, pid ${daemon.pid}\\n`));
  daemon.child.kill('SIGTERM');
  t.equal(await daemon.ended, 0, daemon.stderr());
  t.notMatch((await runBin(BIN.pull, ['-c', conf, '--status'])).stdout, /running/, 'a stopped daemon is not named');
});
