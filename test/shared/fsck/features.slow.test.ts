import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import t from 'tap';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { Git } from '../../../shared/git/index.js';
import { joinStore } from '../../../shared/objstore/index.js';
import { createObjstore } from '../../../shared/objstore/index.js';
import { virtrefFor } from '../../../shared/objstore/virtref.js';
import { readManifestFile, writeManifestFile } from '../../../shared/manifest/io.js';
import { acquireLock, lockPathFor } from '../../../shared/lock.js';
import { BIN } from '../../helpers/fixture.js';
import { runBin } from '../../helpers/cli.js';
import { fsckOk, git, gitDir, makeRepo, pushCommit } from '../../helpers/git.js';
import { makeForkNetwork, hasObject, refsOf } from '../../helpers/fork-network.js';
import { fsck, fsckConfig } from '../../helpers/fsck.js';
import { runM } from '../../helpers/manifest.js';
import { startSmtpSink, parseMessage } from '../../helpers/smtp-sink.js';
import { tmpDir } from '../../helpers/tmp.js';

const storesIn = (top: string) => readdirSync(path.join(top, 'objstore')).filter((n) => n.endsWith('.git') && !n.startsWith('.'));
const alternatesOf = (repo: string) => (existsSync(path.join(repo, 'objects/info/alternates')) ? readFileSync(path.join(repo, 'objects/info/alternates'), 'utf8').trim() : null);

t.test('the command line: flags, exclusive modes, one instance at a time', async (t) => {
  const top = tmpDir(t, 'grok-fsck-cli-');
  makeRepo(path.join(top, 'a.git'));
  const conf = path.join(top, 'fsck.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${top}\n[fsck]\nstatusfile = ${top}/status.js\n`);
  const help = await runBin(BIN.fsck, ['--help']);
  for (const flag of ['--config', '--verbose', '--force', '--repack-only', '--connectivity-only', '--repack-all-quick', '--repack-all-full', '--version']) t.match(help.stdout, flag);
  const both = await runBin(BIN.fsck, ['-c', conf, '--repack-only', '--repack-all-full']);
  t.equal(both.code, 2, 'exclusive modes are a usage error');
  t.match(both.stderr, /--repack-only and --repack-all-full cannot be used together/);
  const held = await acquireLock(lockPathFor(path.join(top, 'status.js')));
  const busy = await runBin(BIN.fsck, ['-c', conf]);
  await held.release();
  t.equal(busy.code, 0, 'a second grok-fsck exits 0');
  t.match(busy.stderr, /another grok-fsck is running/);
  t.notOk(existsSync(path.join(top, 'status.js')), 'and did nothing');
  const ok = await runBin(BIN.fsck, ['-c', conf, '-f']);
  t.equal(ok.code, 0, ok.stderr);
  const status = JSON.parse(readFileSync(path.join(top, 'status.js'), 'utf8')) as Record<string, { lastcheck: string; nextcheck: string; fingerprint: string }>;
  const today = new Date().toISOString().slice(0, 10);
  const entry = status[path.join(top, 'a.git')]!;
  t.equal(entry.lastcheck, today);
  t.ok(entry.nextcheck > today, 'next check in [fsck] frequency days');
  t.match(entry.fingerprint, /^[0-9a-f]{40}$/);
  t.ok(fsckOk(path.join(top, 'a.git')).ok);
});

t.test('a corrupt repository: grokmirror.fsck.err, a reclone marker on replicas only, a report by mail', async (t) => {
  for (const replica of [false, true]) {
    const top = tmpDir(t, 'grok-fsck-bad-');
    const repo = path.join(top, 'bad.git');
    makeRepo(repo, { commits: 2 }); // a local clone: loose objects, hardlinked
    const blob = gitDir(repo, ['rev-parse', 'master:file.txt']);
    unlinkSync(path.join(repo, 'objects', blob.slice(0, 2), blob.slice(2)));
    const sink = await startSmtpSink(t);
    const config = fsckConfig(top, `reclone_on_errors = missing blob\nreport_to = mirror-admin@example.org\nreport_mailhost = ${sink.mailhost}\n`, replica ? '[remote]\nsite = http://127.0.0.1:9\n' : '');
    const res = await fsck(config, { force: true });
    t.equal(res.errors.length, 1, 'one repository with problems');
    t.match(readFileSync(path.join(repo, 'grokmirror.fsck.err'), 'utf8'), new RegExp(`missing blob ${blob}`));
    t.equal(existsSync(path.join(repo, 'grokmirror.reclone')), replica, replica ? 'a replica asks grok-pull to reclone' : 'an origin never asks for a reclone');
    t.equal(sink.messages.length, 1, 'one report mailed');
    const msg = parseMessage(sink.messages[0]!.data);
    t.same(sink.messages[0]!.to, ['mirror-admin@example.org']);
    t.match(msg.body, /missing blob/);
    t.match(msg.body, /bad\.git/);
  }
});

t.test('a replica names objstores after the manifest forkgroup and leaves its manifest alone', async (t) => {
  const top = tmpDir(t, 'grok-fsck-replica-');
  const net = makeForkNetwork(top, { forks: 3, commits: 4 });
  const mfile = path.join(top, 'manifest.js.gz');
  await runM(top, mfile);
  const m = (await readManifestFile(mfile))!.entries;
  for (const r of [net.upstream, ...net.forks]) m.get(`/${path.relative(top, r)}`)!.forkgroup = 'linux-fg';
  await writeManifestFile(mfile, m, { pretty: false });
  const bytes = readFileSync(mfile);
  const config = fsckConfig(top, '', '[remote]\nsite = http://127.0.0.1:9\n');
  const res = await fsck(config, { force: true });
  t.same(res.errors, []);
  t.ok(storesIn(top).includes('linux-fg.git'), 'the forkgroup names the objstore');
  for (const r of [net.upstream, ...net.forks]) t.equal(alternatesOf(r), path.join(top, 'objstore/linux-fg.git/objects'));
  t.same(readFileSync(mfile), bytes, 'the local manifest mirrors the origin: not rewritten');
  for (const r of net.all) t.ok(fsckOk(r).ok);
  // an objstore's status entry carries its refs' fingerprint, as grokmirror writes it (not null)
  const store = path.join(top, 'objstore/linux-fg.git');
  const status = JSON.parse(readFileSync(path.join(top, 'fsck.status.js'), 'utf8')) as Record<string, { fingerprint: string | null }>;
  const showRef = execFileSync('git', [`--git-dir=${store}`, 'show-ref'], { encoding: 'utf8' });
  t.equal(status[store]?.fingerprint, createHash('sha1').update(showRef).digest('hex'), "the objstore's fingerprint in the status file");
});

t.test('plumbing joins, merging sibling objstores, opting out, baselines and island cores, preload bundles', async (t) => {
  const top = tmpDir(t, 'grok-fsck-more-');
  const net = makeForkNetwork(top, { forks: 4, commits: 5 });
  const before = new Map(net.all.map((r) => [r, refsOf(r)]));
  const g = new Git();
  // Two objstores of the same network, as two independent runs or tools could leave them.
  const small = path.join(top, 'objstore/small.git');
  await createObjstore(g, small);
  await joinStore(g, small, net.forks[3]!, { isPrivate: false, plumbing: true });
  t.equal(alternatesOf(net.forks[3]!), path.join(small, 'objects'), 'plumbing join: alternates set');
  t.equal(gitDir(small, ['for-each-ref', '--format=%(refname)', `refs/virtual/${virtrefFor(net.forks[3]!)}/heads/master`]), `refs/virtual/${virtrefFor(net.forks[3]!)}/heads/master`);
  t.ok(fsckOk(net.forks[3]!).ok, 'plumbing join: the member passes git fsck');
  const big = path.join(top, 'objstore/big.git');
  await createObjstore(g, big);
  for (const f of [net.forks[1]!, net.forks[2]!]) await joinStore(g, big, f, { isPrivate: false, plumbing: false });

  const outdir = path.join(top, 'bundles');
  const config = fsckConfig(
    top,
    `baselines = */upstream.git\nislandcores = */upstream.git\npreload_bundle_outdir = ${outdir}\n`,
    'objstore_uses_plumbing = yes\n',
  );
  const res = await fsck(config, { force: true });
  t.same(res.errors, []);
  t.match(res.objstoreNotes!.join('\n'), /merged objstore small into big \(1 users\)/);
  const stores = storesIn(top);
  t.same(stores, ['big.git'], 'one objstore after the merge');
  const store = path.join(top, 'objstore', stores[0]!);
  for (const r of net.all.filter((x) => x !== net.lone)) t.equal(alternatesOf(r), path.join(store, 'objects'), `${path.relative(top, r)} borrows from the survivor`);
  const v = virtrefFor(net.upstream);
  t.equal(gitDir(net.forks[0]!, ['config', 'core.alternateRefsPrefixes']), `refs/virtual/${v}/heads/`, 'baseline: members negotiate with its refs');
  t.equal(gitDir(store, ['config', 'pack.islandCore']), v, 'island core set');
  const bundle = path.join(outdir, `${stores[0]!.replace(/\.git$/, '')}.bundle`);
  t.ok(existsSync(bundle), 'a preload bundle after the full repack');
  git(['bundle', 'verify', bundle], { cwd: store });

  // A member opts out: it takes its objects back and stops borrowing.
  const leaver = net.forks[1]!;
  writeFileSync(path.join(leaver, 'grokmirror.do-not-objstore'), '');
  const again = await fsck(config);
  t.match(again.objstoreNotes!.join('\n'), /fork02\.git left \(opted out\)/);
  t.equal(alternatesOf(leaver), null, 'no alternates any more');
  t.notMatch(gitDir(store, ['for-each-ref', '--format=%(refname)']), new RegExp(`refs/virtual/${virtrefFor(leaver)}/`), 'its refs left the objstore');
  for (const r of net.all) {
    t.equal(refsOf(r), before.get(r), `${path.relative(top, r)}: refs unchanged`);
    t.ok(fsckOk(r).ok, `${path.relative(top, r)}: git fsck`);
  }
  t.ok(fsckOk(store).ok);
  t.ok(hasObject(leaver, gitDir(leaver, ['rev-parse', 'feature-2'])));
  rmSync(outdir, { recursive: true });
});

t.test('stale refs/virtual are trimmed, an objstore nobody uses is removed, a busy repository waits for next time', async (t) => {
  const top = tmpDir(t, 'grok-fsck-trim-');
  const net = makeForkNetwork(top, { forks: 2, commits: 3 });
  const config = fsckConfig(top);
  await fsck(config, { force: true });
  const store = path.join(top, 'objstore', storesIn(top)[0]!);
  const tip = gitDir(net.upstream, ['rev-parse', 'master']);
  gitDir(store, ['update-ref', 'refs/virtual/0123456789ab/heads/master', tip]);
  const res = await fsck(config);
  t.match(res.objstoreNotes!.join('\n'), /trimmed refs of 1 unknown member/);
  t.equal(gitDir(store, ['for-each-ref', 'refs/virtual/0123456789ab/']), '');

  // A repository whose lock grok-pull holds is not moved now.
  const extra = path.join(top, 'pub/late.git');
  git(['clone', '-q', '--bare', '--no-local', net.upstream, extra]);
  const held = await acquireLock(lockPathFor(extra));
  const busy = await fsck(config);
  t.match(busy.objstoreNotes!.join('\n'), /late\.git: busy/);
  t.equal(alternatesOf(extra), null);
  await held.release();
  await fsck(config);
  t.equal(alternatesOf(extra), path.join(store, 'objects'), 'joins on the next run');

  // Every user gone: the objstore goes too (after the members that still exist took their objects).
  for (const r of net.all) rmSync(r, { recursive: true, force: true });
  rmSync(extra, { recursive: true });
  const last = await fsck(config);
  t.match(last.objstoreNotes!.join('\n'), /removed objstore .*: nothing borrows from it/);
  t.same(storesIn(top), []);
  t.same(readdirSync(path.join(top, 'objstore')).filter((n) => !n.endsWith('.lock')), [], 'nothing left behind');
});

t.test('--repack-only repacks without checking; --repack-all-quick repacks everything', async (t) => {
  const top = tmpDir(t, 'grok-fsck-modes-');
  const a = path.join(top, 'a.git');
  const b = path.join(top, 'b.git');
  makeRepo(a, { commits: 3 });
  makeRepo(b, { commits: 3, file: 'other.txt' });
  const config = fsckConfig(top);
  const only = await fsck(config, { repackOnly: true, repackAll: 'full' });
  t.same(only.checked, [], 'nothing checked');
  t.same([...only.repacked].sort(), ['/a.git', '/b.git'], 'both repacked');
  t.notOk(existsSync(path.join(a, 'grokmirror.fsck.err')));
  const status = JSON.parse(readFileSync(path.join(top, 'fsck.status.js'), 'utf8')) as Record<string, { lastcheck: string; lastfullrepack?: string }>;
  t.equal(status[a]!.lastcheck, 'never', 'no check recorded');
  t.match(status[a]!.lastfullrepack, /^\d{4}-\d\d-\d\d$/, 'the full repack is recorded');
  const quick = await fsck(config, { repackAll: 'quick' });
  t.same([...quick.repacked].sort(), ['/a.git', '/b.git'], '--repack-all-quick repacks every repository');
  t.same([...quick.checked].sort(), ['/a.git', '/b.git'], 'and, implying --force, checks them');
  for (const r of [a, b]) t.ok(fsckOk(r).ok);
});

t.test('with check_export_ok, a repository without git-daemon-export-ok never brings its objects into an objstore', async (t) => {
  const top = tmpDir(t, 'grok-fsck-export-');
  const up = path.join(top, 'up.git');
  makeRepo(up, { commits: 4 });
  const [pub, hidden] = ['pub.git', 'hidden.git'].map((n) => path.join(top, n)) as [string, string];
  const own: Record<string, string> = {};
  for (const r of [pub, hidden]) {
    git(['clone', '-q', '--bare', '--no-local', up, r]);
    own[r] = pushCommit(r, { branch: 'own' });
  }
  for (const r of [up, pub]) writeFileSync(path.join(r, 'git-daemon-export-ok'), '');
  const config = fsckConfig(top, '[manifest]\ncheck_export_ok = yes\n');
  t.same((await fsck(config, { force: true })).errors, []);
  const store = path.join(top, 'objstore', storesIn(top)[0]!);
  t.equal(alternatesOf(hidden), path.join(store, 'objects'), 'the unexported fork borrows');
  t.notOk(hasObject(store, own[hidden]!), 'but its own commit is not in the objstore');
  t.notOk(refsOf(store).includes(`refs/virtual/${virtrefFor(hidden)}/`), 'nor are its refs');
  t.ok(hasObject(store, own[pub]!), 'the exported fork shares as usual');

  // Export stops: the fork leaves, and the full repack drops what only it brought.
  unlinkSync(path.join(pub, 'git-daemon-export-ok'));
  const res = await fsck(config, { repackAll: 'full' });
  t.match((res.objstoreNotes ?? []).join('\n'), /pub\.git left/);
  t.notOk(hasObject(store, own[pub]!), 'its own commit left the objstore with it');
  for (const r of [up, pub, hidden, store]) t.ok(fsckOk(r).ok, `${path.basename(r)}: git fsck`);
  t.ok(hasObject(pub, own[pub]!) && hasObject(hidden, own[hidden]!), 'both keep their own work');
});

t.test("the temp file of a killed alternates write goes with grok-fsck's next visit to the repository; nothing else does", async (t) => {
  const top = tmpDir(t, 'grok-fsck-alt-temp-');
  const a = path.join(top, 'a.git');
  makeRepo(a, { commits: 2 });
  const killed = path.join(a, 'objects', 'info', '.alternates.0123456789ab.tmp');
  const notOurs = path.join(a, 'objects', 'info', '.alternates.keep-me.tmp');
  writeFileSync(killed, '/half/a/line');
  writeFileSync(notOurs, 'not one of ours');
  await fsck(fsckConfig(top), { repackOnly: true, repackAll: 'quick' });
  t.notOk(existsSync(killed), 'the killed write\'s temp file is gone');
  t.ok(existsSync(notOurs), 'a file without our temp name stays');
  t.notOk(existsSync(path.join(a, 'objects', 'info', 'alternates')), 'no alternates file appears');
  t.ok(fsckOk(a).ok);
});
