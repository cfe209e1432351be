/**
 * grok-pull --dry-run prints the plan, one line per repository (`<action> <repo>`), and changes
 * nothing on disk: the toplevel's tree (every file's type, mode, size, inode and mtime) and the log
 * directory are the same before and after. The pass that follows does what the plan said.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { runBin } from '../helpers/cli.js';
import { BIN } from '../helpers/fixture.js';
import { fsckOk, makeRepo, pushCommit } from '../helpers/git.js';
import { tmpDir } from '../helpers/tmp.js';

/** Every entry under `root`: its type, mode, size, inode, mtime and link target. */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      const st = lstatSync(p, { bigint: true });
      const kind = st.isSymbolicLink() ? `link:${readlinkSync(p)}` : st.isDirectory() ? 'dir' : 'file';
      out.set(path.relative(root, p), `${kind} ${st.mode} ${st.size} ${st.ino} ${st.mtimeNs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

const manifest = (origin: string) => runBin(BIN.manifest, ['-m', path.join(origin, 'manifest.js.gz'), '-t', origin]);

t.test('--dry-run lists clone, fetch, fix, reclone and purge, and changes nothing', async (t) => {
  const dir = tmpDir(t);
  const origin = path.join(dir, 'origin');
  for (const n of ['a', 'b', 'c', 'd']) makeRepo(path.join(origin, `${n}.git`));
  t.equal((await manifest(origin)).code, 0);
  const mirror = path.join(dir, 'mirror');
  const logDir = path.join(dir, 'log');
  mkdirSync(logDir);
  const conf = path.join(dir, 'pull.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${mirror}\nmanifest = ${mirror}/manifest.js.gz\nlog = ${logDir}/pull.log\n[remote]\nsite = ${origin}\nmanifest = file://${origin}/manifest.js.gz\n[pull]\npurgeprotect = 50\n`);
  const first = await runBin(BIN.pull, ['-c', conf]);
  t.equal(first.code, 0, first.stderr);

  makeRepo(path.join(origin, 'e.git'));
  pushCommit(path.join(origin, 'a.git'));
  writeFileSync(path.join(origin, 'b.git/description'), 'b, described\n');
  rmSync(path.join(origin, 'd.git'), { recursive: true });
  rmSync(path.join(origin, 'manifest.js.gz'));
  t.equal((await manifest(origin)).code, 0);
  writeFileSync(path.join(mirror, 'c.git/grokmirror.reclone'), 'asked for by hand\n');

  const before = snapshot(dir);
  const dry = await runBin(BIN.pull, ['-c', conf, '--dry-run', '-p']);
  t.equal(dry.code, 0, dry.stderr);
  t.same(dry.stdout.trim().split('\n').sort(), ['clone /e.git', 'fetch /a.git', 'fix /b.git (settings)', 'purge /d.git', 'reclone /c.git']);
  t.match(dry.stderr, /dry run: 4 repositories wanted, 4 need work, 0 refused, 1 to purge; nothing changed/);
  t.same(snapshot(dir), before, 'nothing on disk changed: the mirror, its state files, the log');

  const real = await runBin(BIN.pull, ['-c', conf, '-p']);
  t.equal(real.code, 0, real.stderr);
  const msgs = readFileSync(path.join(logDir, 'pull.log'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg);
  for (const m of ['cloned /e.git', 'updated /a.git', 'fixed /b.git (settings only, nothing fetched)', 'recloned /c.git', 'purged /d.git']) t.ok(msgs.includes(m), `the pass did what the plan said: ${m}`);
  for (const n of ['a', 'b', 'c', 'e']) t.ok(fsckOk(path.join(mirror, `${n}.git`)).ok, `${n}.git fsck`);
  t.notOk(existsSync(path.join(mirror, 'd.git')));

  const again = await runBin(BIN.pull, ['-c', conf, '--dry-run']);
  t.equal(again.code, 0);
  t.equal(again.stdout, '');
  t.match(again.stderr, /the remote manifest has not changed, so a pass would do nothing/);
});

t.test('--dry-run on a replica not made yet: every repository to clone, no toplevel made', async (t) => {
  const dir = tmpDir(t);
  const origin = path.join(dir, 'origin');
  for (const n of ['x', 'sub/y']) makeRepo(path.join(origin, `${n}.git`));
  t.equal((await manifest(origin)).code, 0);
  const conf = path.join(dir, 'pull.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${dir}/mirror\nmanifest = ${dir}/mirror/manifest.js.gz\n[remote]\nsite = ${origin}\nmanifest = file://${origin}/manifest.js.gz\n`);
  const dry = await runBin(BIN.pull, ['-c', conf, '--dry-run']);
  t.equal(dry.code, 0, dry.stderr);
  t.same(dry.stdout.trim().split('\n').sort(), ['clone /sub/y.git', 'clone /x.git']);
  t.notOk(existsSync(path.join(dir, 'mirror')), 'no toplevel made');
  const both = await runBin(BIN.pull, ['-c', conf, '--dry-run', '-o']);
  t.equal(both.code, 2, 'with -o: a usage error');
});
