/**
 * Issue 23 item 14: the empty `.<repo>.lock` of every deleted repository stayed for ever on the
 * origin and on every tier. It is removed once the repository is gone and the lock can be taken:
 * by grok-pull when it purges the repository, and by every walk (grok-pull's purge walk,
 * grok-manifest's full walk, grok-fsck) for locks already orphaned; never while another process
 * holds it (a grokmirror process, here Python's lockf). And removing a lock file is safe for the
 * processes that were waiting on it: one that then gets the lock on the removed file notices and
 * takes the lock on the file now at the path instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { acquireLock } from '../../shared/lock.js';
import { runBin } from '../helpers/cli.js';
import { BIN } from '../helpers/fixture.js';
import { fsckOk, makeRepo } from '../helpers/git.js';
import { startHostileSite } from '../helpers/hostile-site.js';
import { readM } from '../helpers/manifest.js';
import { startTestOrigin } from '../helpers/origin.js';
import { tmpDir } from '../helpers/tmp.js';

/** A process holding `file` locked as grokmirror does (fcntl.lockf); lines on stdin drive it. */
function pythonHolder(file: string, script = ''): Promise<{ child: ChildProcess; said: (word: string) => Promise<void> }> {
  const code = [
    'import fcntl,os,sys',
    'p=sys.argv[1]',
    "fh=open(p,'a')",
    'fcntl.lockf(fh,fcntl.LOCK_EX)',
    "print('held',flush=True)",
    script,
    'sys.stdin.readline()',
  ].join('\n');
  const child = spawn('python3', ['-c', code, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const said = async (word: string) => {
    for (let i = 0; i < 500 && !out.includes(word); i++) await sleep(20);
    if (!out.includes(word)) throw new Error(`the holder never said ${word}: ${out}`);
  };
  return said('held').then(() => ({ child, said }));
}

t.test('grok-pull removes the lock file of a repository it purges, and orphans its walk finds', async (t) => {
  const dir = tmpDir(t, 'grok-locks-');
  const top = path.join(dir, 'origin');
  for (const k of ['keep.git', 'gone.git', 'also.git', 'more.git']) makeRepo(path.join(top, k));
  const origin = await startTestOrigin(t, top);
  const real = await readM(path.join(top, 'manifest.js.gz'));
  const site = await startHostileSite(t, origin.url, new Set(Object.keys(real)));
  const mirror = path.join(dir, 'mirror');
  const conf = path.join(dir, 'replica.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${mirror}\nmanifest = ${path.join(mirror, 'manifest.js.gz')}\n[remote]\nsite = ${site.url}\nmanifest = ${site.url}/manifest.js\n[pull]\npurge = yes\npurgeprotect = 50\nretries = 1\n`);
  site.serve({ body: Buffer.from(JSON.stringify(real)) });
  t.equal((await runBin(BIN.pull, ['-c', conf, '-n'])).code, 0);
  for (const k of Object.keys(real)) t.ok(existsSync(path.join(mirror, `.${k.slice(1)}.lock`)), `${k} has its lock file after the pass`);
  // Orphans an older version left: one free, one held by another process right now.
  writeFileSync(path.join(mirror, '.deleted-long-ago.git.lock'), '');
  mkdirSync(path.join(mirror, 'sub'));
  writeFileSync(path.join(mirror, 'sub', '.deleted-too.git.lock'), '');
  const held = await pythonHolder(path.join(mirror, '.busy-gone.git.lock'));
  t.teardown(() => void held.child.kill('SIGKILL'));

  const { '/gone.git': _gone, ...rest } = real;
  void _gone;
  site.serve({ body: Buffer.from(JSON.stringify(rest)) });
  const r = await runBin(BIN.pull, ['-c', conf, '-n', '-v']);
  t.equal(r.code, 0, r.stderr);
  t.notOk(existsSync(path.join(mirror, 'gone.git')), '/gone.git purged');
  t.notOk(existsSync(path.join(mirror, '.gone.git.lock')), 'and its lock file with it');
  t.notOk(existsSync(path.join(mirror, '.deleted-long-ago.git.lock')), 'an orphan lock file is removed');
  t.notOk(existsSync(path.join(mirror, 'sub', '.deleted-too.git.lock')), 'in a subdirectory too');
  t.ok(existsSync(path.join(mirror, '.busy-gone.git.lock')), 'one another process holds stays');
  for (const k of ['keep.git', 'also.git', 'more.git']) {
    t.ok(existsSync(path.join(mirror, `.${k}.lock`)), `the lock file of /${k}, which is there, stays`);
    t.ok(fsckOk(path.join(mirror, k)).ok, `git fsck /${k}`);
  }
  t.ok(existsSync(path.join(mirror, '.manifest.js.gz.lock')), "the local manifest's lock file stays");
});

t.test('grok-fsck and grok-manifest walks remove orphan lock files on an origin', async (t) => {
  const dir = tmpDir(t, 'grok-locks-origin-');
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'a.git'));
  makeRepo(path.join(top, 'pub/b.git'));
  const conf = path.join(dir, 'origin.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${top}\nmanifest = ${path.join(top, 'manifest.js.gz')}\nobjstore = ${path.join(dir, 'objstore')}\n[fsck]\nstatusfile = ${path.join(dir, 'fsck.status.json')}\n`);
  t.equal((await runBin(BIN.manifest, ['--cfgfile', conf])).code, 0);
  mkdirSync(path.join(dir, 'objstore'));
  const orphans = [path.join(top, '.deleted.git.lock'), path.join(top, 'pub', '.deleted.git.lock'), path.join(dir, 'objstore', '.gone-store.git.lock')];
  const kept = [path.join(top, '.a.git.lock'), path.join(top, 'pub', '.b.git.lock')];
  for (const f of [...orphans, ...kept]) writeFileSync(f, '');
  const busy = path.join(top, '.busy.git.lock');
  const held = await pythonHolder(busy);
  t.teardown(() => void held.child.kill('SIGKILL'));
  const r = await runBin(BIN.fsck, ['-c', conf, '-v']);
  t.equal(r.code, 0, r.stderr);
  for (const f of orphans) t.notOk(existsSync(f), `grok-fsck removed ${path.relative(dir, f)}`);
  for (const f of kept) t.ok(existsSync(f), `and kept ${path.relative(dir, f)} (its repository is there)`);
  t.ok(existsSync(busy), 'and the one another process holds');
  t.match(r.stderr, /removed 3 lock files of repositories that are gone/);

  writeFileSync(path.join(top, 'pub', '.another.git.lock'), '');
  const m = await runBin(BIN.manifest, ['--cfgfile', conf, '-p']);
  t.equal(m.code, 0, m.stderr);
  t.notOk(existsSync(path.join(top, 'pub', '.another.git.lock')), 'a grok-manifest walk removes one too');
  t.ok(existsSync(busy), 'never the one another process holds');
  t.ok(fsckOk(path.join(top, 'a.git')).ok && fsckOk(path.join(top, 'pub/b.git')).ok, 'git fsck');
});

t.test('a lock file removed while others wait on it: the waiter takes the lock at the path, never a second one', async (t) => {
  const dir = tmpDir(t, 'grok-locks-race-');
  const file = path.join(dir, '.r.git.lock');
  // The holder removes the lock file, makes and locks a new one at the same path, then lets go of
  // the old one: a waiter that locks the old file must not think it holds the lock.
  const holder = await pythonHolder(file, [
    'sys.stdin.readline()',
    'os.unlink(p)',
    "fh2=open(p,'a')",
    'fcntl.lockf(fh2,fcntl.LOCK_EX)',
    'fh.close()',
    "print('swapped',flush=True)",
  ].join('\n'));
  t.teardown(() => void holder.child.kill('SIGKILL'));
  let got = false;
  const waiting = acquireLock(file, { timeoutMs: 20_000 }).then((h) => ((got = true), h));
  await sleep(100);
  t.notOk(got, 'waits while the holder has it');
  holder.child.stdin!.write('swap\n');
  await holder.said('swapped');
  await sleep(500);
  t.notOk(got, 'still waits once the old file is released: the file at the path is locked');
  holder.child.stdin!.write('release\n');
  const h = await waiting;
  t.pass('taken once the holder of the file at the path lets go');
  await h.release();
});
