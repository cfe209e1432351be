import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { pino } from 'pino';
import { openLogFile } from '../../shared/log-file.js';
import { BIN } from '../helpers/fixture.js';
import { GIT_ENV } from '../helpers/git.js';
import { tmpDir } from '../helpers/tmp.js';

t.test('a rotated log file is noticed and reopened', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'grok.log');
  const lf = openLogFile(file);
  const log = pino(lf.stream);
  log.info('before');
  t.equal(lf.reopenIfMoved(), false, 'nothing moved yet');
  renameSync(file, `${file}.1`);
  log.info('still into the old file');
  t.equal(lf.reopenIfMoved(), true, 'the path names no file: reopened');
  log.info('after');
  t.match(readFileSync(`${file}.1`, 'utf8'), /before[\s\S]*still into the old file/);
  const now = readFileSync(file, 'utf8');
  t.match(now, /after/);
  t.notMatch(now, /before/);
});

t.test('an unopenable log file is a clear error', async (t) => {
  const dir = tmpDir(t);
  t.throws(() => openLogFile(path.join(dir, 'no/such/dir/grok.log')), { code: 'GROK_ERR_WRITE', message: /cannot open log file .*grok\.log \(ENOENT\)/ });
});

t.test('grok-origin reopens [core] log on SIGHUP (what logrotate sends)', async (t) => {
  const dir = tmpDir(t);
  const logfile = path.join(dir, 'origin.log');
  const conf = path.join(dir, 'origin.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${dir}\nmanifest = ${dir}/manifest.js.gz\nlog = ${logfile}\n[origin]\nlisten = 127.0.0.1:0\n`);
  const child = spawn(process.execPath, [BIN.origin, '-c', conf], { env: GIT_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((r) => child.on('exit', r));
  await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => (/listening on/.test(d.toString()) ? resolve() : undefined)));
  while (!existsSync(logfile) || !/listening|serving/.test(readFileSync(logfile, 'utf8'))) await sleep(20);
  renameSync(logfile, `${logfile}.1`);
  child.kill('SIGHUP');
  while (!existsSync(logfile)) await sleep(20);
  child.kill('SIGTERM');
  await exited;
  t.match(readFileSync(logfile, 'utf8'), /SIGTERM: stopping/, 'lines after the rotation go to the new file');
  t.notMatch(readFileSync(`${logfile}.1`, 'utf8'), /SIGTERM: stopping/);
});

t.test('a daemon without a log file survives SIGHUP (logrotate sends one to every instance)', async (t) => {
  const dir = tmpDir(t);
  const conf = path.join(dir, 'origin.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${dir}\nmanifest = ${dir}/manifest.js.gz\n[origin]\nlisten = 127.0.0.1:0\n`);
  const child = spawn(process.execPath, [BIN.origin, '-c', conf], { env: GIT_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let exitCode: number | null | undefined;
  const exited = new Promise((r) => child.on('exit', (code) => r((exitCode = code))));
  const url = await new Promise<string>((resolve) => child.stdout.on('data', (d: Buffer) => {
    const m = /listening on (\S+)/.exec(d.toString());
    if (m) resolve(m[1]!);
  }));
  child.kill('SIGHUP');
  await sleep(300);
  t.equal(exitCode, undefined, 'still running after SIGHUP');
  const res = await fetch(`${url}/manifest.js.gz`);
  await res.arrayBuffer();
  t.ok(res.status === 200 || res.status === 404, 'and answering');
  child.kill('SIGTERM');
  await exited;
});
