import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { acquireLock, lockPathFor, withLock } from '../../shared/lock.js';
import { tmpDir } from '../helpers/tmp.js';

t.test('lock files use grokmirror names', async (t) => {
  t.equal(lockPathFor('/srv/top/manifest.js.gz'), '/srv/top/.manifest.js.gz.lock');
  t.equal(lockPathFor('/srv/top/pub/linux.git'), '/srv/top/pub/.linux.git.lock');
});

t.test('holders inside one process are serialised', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, '.m.lock');
  const events: string[] = [];
  await Promise.all(
    [1, 2, 3].map((i) =>
      withLock(file, async () => {
        events.push(`in${i}`);
        await new Promise((r) => setTimeout(r, 20));
        events.push(`out${i}`);
      }),
    ),
  );
  t.same(events, ['in1', 'out1', 'in2', 'out2', 'in3', 'out3']);
  const held = await acquireLock(file);
  await t.rejects(acquireLock(file, { timeoutMs: 50 }), { code: 'GROK_ERR_LOCK', message: /locked by another process/ });
  await held.release();
  await (await acquireLock(file, { timeoutMs: 0 })).release();
});

/** Starts a process that takes the lock like grokmirror does (Python fcntl.lockf) and then waits. */
function pythonHolder(file: string): Promise<ReturnType<typeof spawn>> {
  const code = `import fcntl,sys,time\nfh=open(sys.argv[1],'w')\nfcntl.lockf(fh,fcntl.LOCK_EX)\nprint('locked',flush=True)\ntime.sleep(60)\n`;
  const child = spawn('python3', ['-c', code, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('error', reject);
  });
}

t.test('excludes grokmirror (Python lockf) and is freed when the holder is killed -9', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, '.manifest.js.gz.lock');
  const child = await pythonHolder(file);
  t.teardown(() => void child.kill('SIGKILL'));
  await t.rejects(acquireLock(file, { timeoutMs: 200 }), { code: 'GROK_ERR_LOCK' }, 'blocked while grokmirror holds it');
  const waiting = acquireLock(file, { timeoutMs: 10_000 });
  child.kill('SIGKILL');
  const held = await waiting;
  t.pass('taken once the holder died');
  await held.release();
});

t.test('a grokmirror-ts process killed -9 while holding a lock frees it', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, '.repo.git.lock');
  const child = await ourHolder(t, file);
  await t.rejects(acquireLock(file, { timeoutMs: 200 }), { code: 'GROK_ERR_LOCK' });
  child.kill('SIGKILL');
  await (await acquireLock(file, { timeoutMs: 10_000 })).release();
  t.pass('freed by the kernel when the holder died');
});

t.test('a wait ends when its signal aborts, in-process or across processes, holding nothing', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, '.repo.git.lock');
  // Across processes: another process holds the file (polling path).
  const child = await ourHolder(t, file);
  const stop = new AbortController();
  const waiting = acquireLock(file, { signal: stop.signal });
  stop.abort();
  await t.rejects(waiting, { code: 'GROK_ERR_STOPPED' }, 'another process holds it');
  await t.rejects(acquireLock(file, { signal: stop.signal }), { code: 'GROK_ERR_STOPPED' }, 'already aborted: gives up at the first busy try');
  child.kill('SIGKILL');
  // In-process: an earlier holder in this process (the queue path).
  const held = await acquireLock(file, { timeoutMs: 10_000 });
  const stop2 = new AbortController();
  const queued = acquireLock(file, { signal: stop2.signal });
  stop2.abort();
  await t.rejects(queued, { code: 'GROK_ERR_STOPPED' }, 'an earlier holder in this process');
  await held.release();
  await (await acquireLock(file, { timeoutMs: 0 })).release();
  t.pass('the stopped waits hold nothing: the lock is free at once');
});

/** A grokmirror-ts process holding `file`'s lock (resolves once it holds it); killed at teardown. */
async function ourHolder(t: Test, file: string): Promise<ChildProcess> {
  const lockModule = pathToFileURL(path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../shared/lock.js')).href;
  const code = `const { acquireLock } = await import(${JSON.stringify(lockModule)}); await acquireLock(process.argv[1]); console.log('locked'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void child.kill('SIGKILL'));
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  return child;
}
