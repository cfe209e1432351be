import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { BIN } from '../helpers/fixture.js';
import { GIT_ENV, makeRepo } from '../helpers/git.js';
import { startTestOrigin } from '../helpers/origin.js';
import { tmpDir } from '../helpers/tmp.js';

t.test('grok-pull --help lists every flag', async (t) => {
  const h = spawnSync(process.execPath, [BIN.pull, '--help'], { encoding: 'utf8' });
  t.equal(h.status, 0);
  for (const f of ['-c, --config', '-n, --no-mtime-check', '-p, --purge', '--force-purge', '-o, --continuous', '-v, --verbose', '--version']) t.ok(h.stdout.includes(f), f);
});

t.test('one pass from the command line; exit status says whether anything failed; -o stops on SIGTERM', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'a.git'));
  const origin = await startTestOrigin(t, top);
  const conf = path.join(dir, 'replica.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${dir}/mirror\nmanifest = \${toplevel}/manifest.js.gz\n[remote]\nsite = ${origin.url}\nmanifest = \${site}/manifest.js.gz\n`);
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const c = spawn(process.execPath, [BIN.pull, '-c', conf, ...args], { env: GIT_ENV });
      let stderr = '';
      c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      c.on('close', (code) => resolve({ code, stderr }));
    });
  const one = await run(['-v']);
  t.equal(one.code, 0, one.stderr);
  t.match(one.stderr, /1 cloned, 0 updated, 0 fixed, 0 purged, 0 deferred, 0 failed/);
  const again = await run([]);
  t.equal(again.code, 0);
  const bad = path.join(dir, 'bad.conf');
  writeFileSync(bad, `[core]\ntoplevel = ${dir}/m2\n[remote]\nsite = http://127.0.0.1:9\nmanifest = \${site}/manifest.js.gz\n`);
  const failed = spawnSync(process.execPath, [BIN.pull, '-c', bad], { encoding: 'utf8', env: GIT_ENV, timeout: 60_000 });
  t.equal(failed.status, 1);
  t.match(failed.stderr, /^grok-pull: error: cannot fetch the manifest: .*after 3 attempts/m);
  // Signalled once it is running (it says so with -v), not after a fixed wait a loaded machine overruns.
  const daemon = spawn(process.execPath, [BIN.pull, '-c', conf, '-o', '-v'], { env: GIT_ENV });
  let said = '';
  await new Promise<void>((resolve) => {
    daemon.stderr.setEncoding('utf8').on('data', (d: string) => {
      said += d;
      if (/following the change feed|pass: /.test(said)) resolve();
    });
    daemon.on('close', () => resolve());
  });
  const code = await new Promise<number | null>((resolve) => {
    daemon.on('close', resolve);
    daemon.kill('SIGTERM');
  });
  t.equal(code, 0, 'SIGTERM: clean exit', { said });
});
