/**
 * contrib/logrotate/grokmirror: logrotate parses it, and a forced rotation in a temp directory
 * rotates, compresses one cycle late, creates the new file and sends SIGHUP through systemctl once
 * (a stand-in systemctl on PATH records how it was called). The mirror user and /var/log/grokmirror
 * are swapped for this user and a temp directory; nothing else is changed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { REPO_ROOT } from '../helpers/fixture.js';
import { tmpDir } from '../helpers/tmp.js';

const CONF = path.join(REPO_ROOT, 'contrib/logrotate/grokmirror');
const LOGROTATE = ['/usr/sbin/logrotate', '/sbin/logrotate', '/usr/bin/logrotate'].find((p) => existsSync(p));
const shipped = readFileSync(CONF, 'utf8');

t.test('the shipped file says what the README promises', async (t) => {
  const directives = shipped.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  t.equal(directives[0], '/var/log/grokmirror/*.log {');
  for (const d of ['weekly', 'rotate 8', 'compress', 'delaycompress', 'missingok', 'notifempty', 'create', 'sharedscripts', 'postrotate', 'endscript', '}']) {
    t.ok(directives.includes(d), d);
  }
  // An origin and a replica run as different users: a fixed owner, or `su` one of them, would hand the
  // other a new file it cannot reopen (logrotate-daemons.test.ts runs that against the daemons).
  t.notOk(directives.some((d) => /^su\b/.test(d)), 'no su');
  t.notOk(directives.some((d) => /^create\s+\S+\s+\S+/.test(d)), 'create names no owner');
  t.match(shipped, /systemctl kill --kill-who=main -s HUP 'grok-pull@\*\.service' 'grok-origin@\*\.service'/, 'the daemons, not their git children');
});

t.test('logrotate parses it and a forced rotation signals the daemons once', { skip: LOGROTATE ? false : 'logrotate not installed' }, async (t) => {
  const dir = tmpDir(t);
  const logs = path.join(dir, 'log');
  const bin = path.join(dir, 'bin');
  mkdirSync(logs);
  mkdirSync(bin);
  const user = os.userInfo().username;
  const group = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();
  const conf = path.join(dir, 'grokmirror');
  writeFileSync(conf, shipped.replaceAll('/var/log/grokmirror', logs).replaceAll('mirror mirror', `${user} ${group}`), { mode: 0o644 });
  const calls = path.join(dir, 'systemctl.calls');
  writeFileSync(path.join(bin, 'systemctl'), `#!/bin/sh\necho "$@" >> "${calls}"\n`);
  chmodSync(path.join(bin, 'systemctl'), 0o755);
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  const state = path.join(dir, 'state');
  const logrotate = (args: string[]) => spawnSync(LOGROTATE!, [...args, '-s', state, conf], { env, encoding: 'utf8' });

  const debug = logrotate(['-d']);
  t.equal(debug.status, 0, debug.stderr);
  t.notMatch(debug.stderr, /^error:/m, 'no errors in debug mode');
  t.match(debug.stderr, new RegExp(`rotating pattern: ${logs}/\\*\\.log\\s+weekly`));

  writeFileSync(path.join(logs, 'pull.log'), '{"msg":"one"}\n');
  writeFileSync(path.join(logs, 'origin.log'), '{"msg":"two"}\n');
  const first = logrotate(['-f']);
  t.equal(first.status, 0, first.stderr);
  t.equal(readFileSync(path.join(logs, 'pull.log.1'), 'utf8'), '{"msg":"one"}\n', 'rotated, not compressed yet (delaycompress)');
  t.equal(statSync(path.join(logs, 'pull.log')).size, 0, 'a new empty file for the daemon to reopen');
  t.equal(statSync(path.join(logs, 'pull.log')).mode & 0o777, 0o644);
  t.equal(readFileSync(calls, 'utf8'), 'kill --kill-who=main -s HUP grok-pull@*.service grok-origin@*.service\n', 'one SIGHUP for all logs (sharedscripts)');

  writeFileSync(path.join(logs, 'pull.log'), '{"msg":"three"}\n');
  const second = logrotate(['-f']);
  t.equal(second.status, 0, second.stderr);
  t.ok(existsSync(path.join(logs, 'pull.log.2.gz')), 'compressed one cycle later');
  t.equal(readFileSync(path.join(logs, 'pull.log.1'), 'utf8'), '{"msg":"three"}\n');
  t.notOk(existsSync(path.join(logs, 'origin.log.2.gz')), 'an empty log is left alone (notifempty)');
});
