import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { manifestCommand } from '../../origin/manifest/cli-options.js';
import { BIN, expectedManifest, makeGrokmirrorFixture } from '../helpers/fixture.js';
import { makeRepo } from '../helpers/git.js';
import { runBin } from '../helpers/cli.js';
import { readM } from '../helpers/manifest.js';
import { tmpDir } from '../helpers/tmp.js';

const run = (args: string[], opts: Parameters<typeof runBin>[2] = {}) => runBin(BIN.manifest, args, opts);

t.test('--version and --help list every flag the command accepts', async (t) => {
  const v = await run(['--version']);
  t.equal(v.code, 0);
  t.match(v.stdout, /^grok-manifest \(grokmirror-ts\) \d+\.\d+\.\d+/);
  const h = await run(['--help']);
  t.equal(h.code, 0);
  for (const opt of manifestCommand().options) t.ok(h.stdout.includes(opt.flags), `help shows ${opt.flags}`);
  for (const flag of ['--cfgfile', '-m, --manifest', '-t, --toplevel', '-l, --logfile', '-n, --use-now', '-c, --check-export-ok', '-p, --purge', '-x, --remove', '-y, --pretty', '-i, --ignore-paths', '-r, --ignore-refs', '-w, --wait-for-manifest', '-o, --fetch-objstore', '-v, --verbose']) {
    t.ok(h.stdout.includes(flag), `grokmirror flag ${flag}`);
  }
});

t.test('the grokmirror command line works unchanged, including -r and -y', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeGrokmirrorFixture(top);
  const m = path.join(dir, 'manifest.js.gz');
  const r = await run(['-y', '-m', m, '-t', top, '-r', 'refs/meta/*', '-v']);
  t.equal(r.code, 0, r.stderr);
  t.same(await readM(m), expectedManifest('manifest.ignore-meta.expected.json'));
  t.match(r.stderr, /6 repositories listed: 6 added/);
  // the hook form: -n -m M -t T $GIT_DIR
  const hook = await run(['-n', '-m', m, '-t', top, path.join(top, 'plain.git')]);
  t.equal(hook.code, 0, hook.stderr);
  t.equal(hook.stderr, '', 'quiet without -v');
});

t.test('--cfgfile supplies toplevel, manifest, pretty, ignore and the log file', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'a.git'));
  makeRepo(path.join(top, 'testing/t.git'));
  const conf = path.join(dir, 'grokmirror.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${top}\nmanifest = \${toplevel}/manifest.js\nlog = ${dir}/grok.log\nloglevel = debug\n[manifest]\npretty = yes\nignore = /testing/*\n`);
  const r = await run(['--cfgfile', conf]);
  t.equal(r.code, 0, r.stderr);
  const text = readFileSync(path.join(top, 'manifest.js'), 'utf8');
  t.match(text, /^\{\n {2}"\/a\.git"/, 'pretty from the config');
  t.same(Object.keys(JSON.parse(text)), ['/a.git'], 'ignore from the config');
  const log = readFileSync(path.join(dir, 'grok.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; name: string });
  t.ok(log.some((l) => /added \/a\.git/.test(l.msg)), 'structured log lines in [core] log');
  t.equal(log[0]!.name, 'grok-manifest');
  const lflag = await run(['--cfgfile', conf, '-l', path.join(dir, 'other.log')]);
  t.equal(lflag.code, 0);
  t.ok(existsSync(path.join(dir, 'other.log')), '-l overrides [core] log');
});

t.test('-w waits for the manifest to appear', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'a.git'));
  const m = path.join(dir, 'manifest.js');
  const pending = run(['-w', '-m', m, '-t', top, path.join(top, 'a.git')]);
  await new Promise((r) => setTimeout(r, 1500));
  t.notOk(existsSync(m), 'nothing written while waiting');
  writeFileSync(m, '{}');
  const r = await pending;
  t.equal(r.code, 0, r.stderr);
  t.same(Object.keys(JSON.parse(readFileSync(m, 'utf8'))), ['/a.git']);
});

t.test('bad input: one-line errors naming the problem, non-zero exit, nothing half-written', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'a.git'));
  makeRepo(path.join(top, 'b.git'));
  const m = path.join(dir, 'manifest.js');
  t.equal((await run(['-m', m, '-t', top])).code, 0);
  const good = readFileSync(m);

  await t.test('corrupt manifest', async (t) => {
    const bad = path.join(dir, 'corrupt.js');
    writeFileSync(bad, '{"/a.git": {"fingerprint": ');
    const r = await run(['-m', bad, '-t', top, path.join(top, 'a.git')]);
    t.equal(r.code, 1);
    t.match(r.stderr, /^grok-manifest: error: .*corrupt\.js: not valid JSON/);
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    t.equal(readFileSync(bad, 'utf8'), '{"/a.git": {"fingerprint": ', 'left as it was (grokmirror silently regenerated it)');
    const regen = await run(['--regenerate', '-m', bad, '-t', top]);
    t.equal(regen.code, 0, regen.stderr);
    t.same(Object.keys(JSON.parse(readFileSync(bad, 'utf8'))).sort(), ['/a.git', '/b.git'], '--regenerate rebuilds from a walk');
  });

  await t.test('manifest directory missing', async (t) => {
    const r = await run(['-m', path.join(dir, 'nodir', 'm.js'), '-t', top]);
    t.equal(r.code, 1);
    t.match(r.stderr, /^grok-manifest: error: manifest directory .*nodir does not exist \[GROK_ERR_MANIFEST_DIR\]\n$/);
  });

  await t.test('a path that is not a repo fails alone; the rest is processed', async (t) => {
    mkdirSync(path.join(top, 'notrepo'));
    const r = await run(['-m', m, '-t', top, path.join(top, 'notrepo'), path.join(dir, 'elsewhere'), path.join(top, 'b.git')]);
    t.equal(r.code, 1);
    t.match(r.stderr, /notrepo: not a bare git repository/);
    t.match(r.stderr, /elsewhere: no such file or directory/);
    t.same(Object.keys(JSON.parse(readFileSync(m, 'utf8'))).sort(), ['/a.git', '/b.git']);
  });

  await t.test('toplevel missing', async (t) => {
    const r = await run(['-m', m, '-t', path.join(dir, 'nosuch')]);
    t.equal(r.code, 1);
    t.match(r.stderr, /^grok-manifest: error: toplevel .*nosuch does not exist or is not a directory/);
  });

  await t.test('unwritable toplevel and manifest directory', async (t) => {
    const ro = path.join(dir, 'ro');
    makeRepo(path.join(ro, 'top/r.git'));
    if (process.getuid?.() !== 0) chmodSync(path.join(ro, 'top'), 0o555);
    const rm = path.join(ro, 'top', 'manifest.js');
    const r = await run(['-m', rm, '-t', path.join(ro, 'top')], { readOnly: ro });
    t.equal(r.code, 1, r.stderr);
    t.match(r.stderr, /^grok-manifest: error: toplevel .*ro\/top is not writable/);
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    t.notOk(existsSync(rm), 'no manifest');
    t.same(readdirSync(path.join(ro, 'top')).filter((n) => n.endsWith('.tmp')), [], 'no temp files');
    if (process.getuid?.() !== 0) chmodSync(path.join(ro, 'top'), 0o755);
  });

  await t.test('config with a broken interpolation', async (t) => {
    const conf = path.join(dir, 'broken.conf');
    writeFileSync(conf, `[core]\ntoplevel = ${top}\nmanifest = \${toplvel}/manifest.js\n`);
    const r = await run(['--cfgfile', conf]);
    t.equal(r.code, 1);
    t.match(r.stderr, /^grok-manifest: error: .*broken\.conf:3: \[core\] manifest: \$\{toplvel\} refers to \[core\] toplvel, which is not set \[GROK_ERR_CONFIG_INTERPOLATION\]\n$/);
  });

  await t.test('usage errors exit 2', async (t) => {
    t.equal((await run(['-t', top])).code, 2);
    t.equal((await run(['--no-such-flag'])).code, 2);
    t.equal((await run(['-x', '-m', m, '-t', top])).code, 2, '-x without paths');
    t.equal((await run(['-w', '-m', m, '-t', top])).code, 2, '-w without paths');
  });

  t.same(readFileSync(m).equals(good) || JSON.parse(readFileSync(m, 'utf8'))['/a.git'] !== undefined, true, 'the good manifest is intact');
  t.ok(statSync(m).size > 0);
});
