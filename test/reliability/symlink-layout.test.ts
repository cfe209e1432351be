/**
 * Issue 16 item 4: grok-pull must never write one repository inside another through a symlink it made
 * earlier in the same pass (an entry with `symlinks: ["/d"]` and keys under /d/...), and must never
 * re-point an operator's own symlink in the toplevel silently. Checked three ways: the planner against
 * the whole manifest (the real grok-pull against a hostile site), the executor's check of each action
 * just before it runs (actions given straight to it, as if the planner had missed the clash), and
 * symlinks the operator made beside ours.
 */
import { existsSync, lstatSync, readdirSync, readlinkSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { loadConfig } from '../../shared/config/config.js';
import { Git } from '../../shared/git/index.js';
import { silentLogger } from '../../shared/log.js';
import type { Manifest, ManifestEntry } from '../../shared/manifest/entry.js';
import { readManifestFile } from '../../shared/manifest/io.js';
import { workContext } from '../../replica/execute/context.js';
import { executeActions } from '../../replica/execute/action-pool.js';
import { runBin } from '../helpers/cli.js';
import { BIN } from '../helpers/fixture.js';
import { fsckOk, gitDir, makeRepo } from '../helpers/git.js';
import { startHostileSite } from '../helpers/hostile-site.js';
import { readM } from '../helpers/manifest.js';
import { startTestOrigin } from '../helpers/origin.js';
import { tmpDir } from '../helpers/tmp.js';

const refsOf = (repo: string) => gitDir(repo, ['for-each-ref', '--format=%(objectname) %(refname)']);
/** Every path inside a repository (what a clone written into it would change). */
const listing = (dir: string): string[] => {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = path.join(d, n);
      out.push(path.relative(dir, p));
      if (lstatSync(p).isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
};

async function setup(t: { teardown(fn: () => void | Promise<void>): void }) {
  const dir = tmpDir(t, 'grok-symlayout-');
  const top = path.join(dir, 'origin');
  for (const [k, n] of [['a.git', 3], ['b.git', 2], ['other.git', 1], ['d/x.git', 2], ['d/y/z.git', 1]] as const) {
    makeRepo(path.join(top, k), { commits: n, date: 1_600_000_000 + k.length * 1000 });
  }
  const origin = await startTestOrigin(t, top);
  const real = await readM(path.join(top, 'manifest.js.gz'));
  const site = await startHostileSite(t, origin.url, new Set(Object.keys(real)));
  const mirror = path.join(dir, 'mirror');
  const conf = path.join(dir, 'replica.conf');
  writeFileSync(
    conf,
    `[core]\ntoplevel = ${mirror}\nmanifest = ${path.join(mirror, 'manifest.js.gz')}\n[remote]\nsite = ${site.url}\nmanifest = ${site.url}/manifest.js\n` +
      // One thread: actions run in manifest order, so the symlink is made before the keys under it.
      `[pull]\npull_threads = 1\nretries = 1\n`,
  );
  const serve = (doc: Record<string, unknown>) => site.serve({ body: Buffer.from(JSON.stringify(doc)) });
  const pullNow = () => runBin(BIN.pull, ['-c', conf, '-n']);
  return { dir, top, real, mirror, conf, serve, pullNow };
}

t.test('planner: a symlink listed in this pass is no way into a repository', async (t) => {
  const s = await setup(t);
  const { '/d/x.git': dx, '/d/y/z.git': dz, ...rest } = s.real;
  s.serve(rest);
  t.equal((await s.pullNow()).code, 0, 'the first pass mirrors /a.git, /b.git, /other.git');
  const a = path.join(s.mirror, 'a.git');
  const aBefore = listing(a);
  const aRefs = refsOf(a);
  // /a.git now lists "/d" as its symlink, listed before two repositories under /d.
  s.serve({ '/a.git': { ...rest['/a.git']!, symlinks: ['/d'] }, '/d/x.git': dx, '/d/y/z.git': dz, '/b.git': rest['/b.git'], '/other.git': rest['/other.git'] });
  const r = await s.pullNow();
  t.equal(r.code, 1, 'the pass exits 1');
  t.match(r.stderr, /refusing "\/a\.git" on this replica: it lists a symlink "\/d" where the manifest has repositories below/, 'and names the entry and why');
  t.same(listing(a), aBefore, 'nothing was written inside /a.git');
  t.equal(refsOf(a), aRefs, '/a.git keeps its refs');
  t.ok(lstatSync(path.join(s.mirror, 'd')).isDirectory() && !lstatSync(path.join(s.mirror, 'd')).isSymbolicLink(), '/d is a plain directory');
  for (const k of ['d/x.git', 'd/y/z.git']) {
    t.equal(refsOf(path.join(s.mirror, k)), refsOf(path.join(s.top, k)), `/${k} mirrored in its own place`);
    t.ok(fsckOk(path.join(s.mirror, k)).ok, `git fsck /${k}`);
  }
  t.ok(fsckOk(a).ok, 'git fsck /a.git');
  const local = await readM(path.join(s.mirror, 'manifest.js.gz'));
  t.same(local['/a.git']!.symlinks, undefined, "/a.git's local entry is the one held before");
});

t.test('executor: each action is checked again just before it runs', async (t) => {
  const s = await setup(t);
  s.serve({ '/a.git': s.real['/a.git'] });
  t.equal((await s.pullNow()).code, 0);
  const a = path.join(s.mirror, 'a.git');
  const aBefore = listing(a);
  const config = loadConfig(s.conf);
  const local: Manifest = (await readManifestFile(config.core.manifest))!.entries;
  const git = new Git();
  const ctx = workContext(config, git, realpathSync(s.mirror), local, async () => {});
  const entry = (k: string, over: Partial<ManifestEntry> = {}): ManifestEntry => ({ ...s.real[k]!, ...over });
  // As if the planner had missed it: /a.git gets the symlink /e, then /e/x.git is cloned.
  const res = await executeActions(
    config,
    ctx,
    [
      { key: '/a.git', entry: entry('/a.git', { symlinks: ['/e'] }), op: 'update', fixRemotes: false, fixParams: true, pull: false, newlyArchived: false },
      { key: '/e/x.git', entry: entry('/d/x.git'), op: 'init', fixRemotes: true, fixParams: true, pull: true, newlyArchived: false },
    ],
    local,
    silentLogger(),
    async () => {},
  );
  t.equal(realpathSync(path.join(s.mirror, 'e')), a, '/e was made, pointing at /a.git');
  t.same(res.cloned, [], 'nothing was cloned');
  t.match(res.failed, [{ key: '/e/x.git', error: /refused: lies inside the repository that the symlink \/e points at/ }], '/e/x.git is refused when its turn comes');
  t.same(listing(a), aBefore, 'nothing was written inside /a.git, not even a lock file');
  t.ok(fsckOk(a).ok, 'git fsck /a.git');
});

t.test("symlinks: an operator's own is never re-pointed; ours follow the manifest", async (t) => {
  const s = await setup(t);
  const { '/d/x.git': _x, '/d/y/z.git': _z, ...rest } = s.real;
  void _x;
  void _z;
  s.serve(rest);
  t.equal((await s.pullNow()).code, 0);
  // The operator's symlinks in the toplevel: one to a repository we mirror, one dangling.
  symlinkSync('other.git', path.join(s.mirror, 'alias.git'));
  symlinkSync('/nonexistent/place.git', path.join(s.mirror, 'dangling.git'));
  s.serve({ ...rest, '/a.git': { ...rest['/a.git']!, symlinks: ['/alias.git', '/dangling.git', '/mine.git'] } });
  const r = await s.pullNow();
  t.equal(readlinkSync(path.join(s.mirror, 'alias.git')), 'other.git', "the operator's symlink still points where the operator pointed it");
  t.equal(readlinkSync(path.join(s.mirror, 'dangling.git')), '/nonexistent/place.git', "the operator's dangling symlink is left too");
  t.match(r.stderr, /\/alias\.git is a symlink to "other\.git" that grok-pull did not make; left alone/, 'and the pass says so');
  t.match(r.stderr, /\/dangling\.git is a symlink to "\/nonexistent\/place\.git" that grok-pull did not make; left alone/);
  t.equal(realpathSync(path.join(s.mirror, 'mine.git')), realpathSync(path.join(s.mirror, 'a.git')), 'a symlink of ours is made');
  // The origin moves our symlink to another repository: ours, so it follows.
  s.serve({ ...rest, '/b.git': { ...rest['/b.git']!, symlinks: ['/mine.git'] } });
  const r2 = await s.pullNow();
  t.equal(r2.code, 0, r2.stderr);
  t.equal(realpathSync(path.join(s.mirror, 'mine.git')), realpathSync(path.join(s.mirror, 'b.git')), 'our symlink now points at /b.git');
  t.ok(existsSync(path.join(s.mirror, 'alias.git')), "the operator's symlink is still there");
  for (const k of ['a.git', 'b.git', 'other.git']) t.ok(fsckOk(path.join(s.mirror, k)).ok, `git fsck /${k}`);
});
