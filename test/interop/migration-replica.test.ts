/**
 * Switching a replica from grokmirror to ours and back, on the same toplevel with the same config
 * file: grokmirror's grok-pull and grok-fsck, then ours, then grokmirror's again, with pushes in
 * between. Nothing may be recloned (same inodes), objstores stay, `git fsck --strict` is clean
 * everywhere, and each tool takes the other's state files (local manifest, `.manifest.js.gz.remote`,
 * fsck status file, fingerprint files) as its own. The `[core] log` is one file for both tools.
 */
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { BIN, REPO_ROOT } from '../helpers/fixture.js';
import { git, pushCommit } from '../helpers/git.js';
import { inodes, mirrorProblems, objstoreProblems, objstores } from './mirror-check.js';
import { interopSuite, peerOk, replicaConf, runOurs } from './peer.js';

const suite = interopSuite(t);
if (suite) {
  const { dir, c } = suite;
  const originManifest = path.join(c.top, 'manifest.js.gz');
  const log = path.join(dir, 'shared.log');
  const { top: mirror, conf } = replicaConf(dir, 'mirror', { site: `file://${c.top}`, manifest: `file://${originManifest}` }, {
    core: { log },
    // Left out: the path with a space, which grokmirror's grok-fsck cannot keep in an objstore (it splits `git
    // remote -v` on whitespace and, depending on the order it meets repositories in, makes a second,
    // empty objstore for it) nor leave out of one (it crashes on grokmirror.do-not-objstore).
    pull: { pull_threads: '2', exclude: c.space },
    fsck: { statusfile: path.join(dir, 'mirror', 'fsck.status.js') },
  });
  const statusFile = path.join(mirror, 'fsck.status.js');
  const keys = c.keys.filter((k) => k !== c.controlOwner && k !== c.space);
  const full = (k: string) => path.join(c.top, k);
  const store = path.join(mirror, 'objstore');
  const watched = () => [...keys.map((k) => path.join(mirror, k)), ...objstores(store).map((n) => path.join(store, n))];
  /** grokmirror's log lines since `from` (its own text lines in the shared file). */
  const peerLines = (from: number) => readFileSync(log, 'utf8').slice(from).split('\n').filter((l) => /^(pull|fsck)\[\d+\] /.test(l));
  const hook = async (...keysPushed: string[]) => {
    for (const k of keysPushed) pushCommit(full(k), { branch: `push-${Date.now()}`, date: 1_700_000_000 });
    // whole-second mtimes on both sides of grokmirror's file:// check
    await new Promise((r) => setTimeout(r, 1100));
    await peerOk('manifest', ['-n', '-m', originManifest, '-t', c.top, ...keysPushed.map(full)]);
  };
  let before: Record<string, number> = {};
  let stores: string[] = [];

  t.before(async () => {
    mkdirSync(mirror, { recursive: true });
    await peerOk('manifest', ['-m', originManifest, '-t', c.top]);
  });

  t.test('grokmirror first: grok-pull and grok-fsck', async (t) => {
    await peerOk('pull', ['-c', conf]);
    await peerOk('fsck', ['-c', conf]);
    t.same(mirrorProblems(c.top, mirror, { keys, symlinks: c.symlinks }), []);
    stores = objstores(store);
    t.ok(stores.length > 0, "grokmirror's grok-fsck made objstores");
    before = inodes(watched());
  });

  t.test('then ours, on the same toplevel and config, after a push', async (t) => {
    await hook(c.nonAscii);
    const pull = await runOurs(BIN.pull, ['-c', conf, '-v']);
    t.equal(pull.code, 0, pull.stderr);
    t.match(pull.stderr, /0 cloned, 1 updated/, 'only the pushed repository was fetched');
    const complaints = pull.stderr.split('\n').filter((l) => /(warning|error): /.test(l));
    t.same(complaints.filter((l) => !l.includes(c.controlOwner)), [], 'no complaint');
    t.same(complaints, [], 'the control-character owner is data, not a complaint');
    const fsck = await runOurs(BIN.fsck, ['-c', conf, '-v']);
    t.equal(fsck.code, 0, fsck.stderr);
    t.notMatch(fsck.stderr, /(warning|error): /, "grokmirror's status file and objstores accepted");
    t.same(inodes(watched()), before, 'nothing recloned or recreated');
    t.same(objstores(store), stores, 'objstores kept');
    t.same(mirrorProblems(c.top, mirror, { keys, symlinks: c.symlinks }), []);
    t.same(objstoreProblems(store), []);

    // issue 17 item 3: .manifest.js.gz.remote in grokmirror's form (whole seconds), so its next pass is not a full one
    const remote = JSON.parse(readFileSync(path.join(mirror, '.manifest.js.gz.remote'), 'utf8')) as Record<string, unknown>;
    t.equal(remote['config-last-modified'], Math.floor(statSync(conf).mtimeMs / 1000), 'config-last-modified in whole seconds');
    t.equal(remote['last-fetched'], Math.floor(statSync(originManifest).mtimeMs / 1000), "last-fetched: the manifest's mtime, as grokmirror records it");

    // issue 17 item 4: objstores' "fingerprint" in the status file, as grokmirror writes it (their refs' show-ref digest)
    const status = JSON.parse(readFileSync(statusFile, 'utf8')) as Record<string, { fingerprint: string | null }>;
    for (const n of stores) {
      const p = path.join(store, n);
      const want = createHash('sha1').update(`${git([`--git-dir=${p}`, 'show-ref'])}\n`).digest('hex');
      t.equal(status[p]?.fingerprint, want, `${n}: fingerprint of its refs`);
    }
    for (const k of keys) t.ok(status[path.join(mirror, k)], `${k}: still in the status file`);
  });

  t.test('then grokmirror again: our state files are its own', async (t) => {
    const from = statSync(log).size;
    await peerOk('pull', ['-c', conf]);
    t.ok(peerLines(from).some((l) => / manifest: unchanged$/.test(l)), 'grokmirror sees nothing new after our pass (no full re-read)');
    await hook(c.deep, c.forks[1]!);
    const from2 = statSync(log).size;
    await peerOk('pull', ['-c', conf]);
    await peerOk('fsck', ['-c', conf]);
    const lines = peerLines(from2);
    t.ok(lines.some((l) => /fetch: \/deep\//.test(l)), 'grokmirror fetched the pushed repository');
    t.same(lines.filter((l) => / - (WARNING|ERROR|CRITICAL) - /.test(l)), [], 'no complaint from grokmirror');
    t.same(inodes(watched()), before, 'nothing recloned or recreated');
    t.same(objstores(store), stores, 'objstores kept');
    t.same(mirrorProblems(c.top, mirror, { keys, symlinks: c.symlinks }), []);
    t.same(objstoreProblems(store), []);
  });

  t.test('the shared [core] log: both tools write it, the README recipe reads ours', async (t) => {
    // an error of ours in the same file: an entry with a broken fingerprint in a manifest
    const bad = path.join(dir, 'bad-manifest.js');
    writeFileSync(bad, JSON.stringify({ '/bad.git': { modified: 1, fingerprint: 'nope', head: null, reference: null } }));
    const { conf: badConf } = replicaConf(dir, 'other', { site: `file://${c.top}`, manifest: `file://${bad}` }, { core: { log } });
    await runOurs(BIN.pull, ['-c', badConf]);
    const text = readFileSync(log, 'utf8');
    t.ok(text.split('\n').some((l) => /^pull\[\d+\] .* - INFO - /.test(l)), "grokmirror's text lines");
    t.ok(text.split('\n').some((l) => l.startsWith('{"level":')), 'our JSON lines');
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const recipe = /`(jq [^`]*select\(\.level >= 50\)[^`]*)`/.exec(readme)?.[1];
    t.ok(recipe, 'the README has the recipe');
    if (spawnSync('jq', ['--version']).error) {
      t.pass('jq is not installed (.ci/run installs it): the recipe was not run', { skip: true });
      return;
    }
    const out = execFileSync('sh', ['-c', recipe!.replace('/var/log/grokmirror/mirror.log', log)], { encoding: 'utf8' });
    t.match(out, /refusing "\/bad\.git"/, 'it lists our error');
    const ours = text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string });
    t.same(out.trimEnd().split('\n'), ours.filter((l) => l.level >= 50).map((l) => l.msg), 'exactly our errors, whatever else the file holds');
  });
}
