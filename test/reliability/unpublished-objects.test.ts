/**
 * Issue 16, item 6: unpublished means private. An origin whose fork network has, beside an upstream
 * and two public forks, forks the origin does not publish: one `[manifest] ignore` leaves out
 * (`/private/*`, as the example config), one that is simply not in the manifest, one without
 * git-daemon-export-ok (`check_export_ok`), one that joined the objstore before this fix (its objects
 * and refs already there, and in the preload bundle), and a private repository a public fork borrows
 * from directly (its alternates). Each holds commits, trees, blobs and a tag of its own.
 *
 * After grok-fsck: no object of theirs is in the objstore's own object directory, none in the
 * preload bundle (on disk and as grok-origin serves it), none in a clone of a public repository,
 * and a raw protocol v2 `want <oid>` of each to each public repository is refused; every
 * unpublished repository still has all its refs and objects, and everything is `git fsck` clean.
 * A purge whose objstore has a busy user waits (marked) for the next run, which does it.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import t, { type Test } from 'tap';
import { writePreloadBundle } from '../../shared/fsck/bundle.js';
import { joinStore } from '../../shared/objstore/index.js';
import { Git } from '../../shared/git/index.js';
import { acquireLock, lockPathFor } from '../../shared/lock.js';
import { createObjstore, objstorePath } from '../../shared/objstore/index.js';
import { CaseTable } from '../helpers/case-table.js';
import { runBin } from '../helpers/cli.js';
import { BIN } from '../helpers/fixture.js';
import { hasObject, refsOf } from '../helpers/fork-network.js';
import { fsckOk, git, gitDir, makeRepo, pushCommit } from '../helpers/git.js';
import { allObjects, forkWithSecret, ownObjects, storeFindings, storesIn, wantObject } from '../helpers/objects.js';
import { startOriginProcess } from '../helpers/origin-process.js';
import { tmpDir } from '../helpers/tmp.js';

const table = new CaseTable('unpublished-objects', 'Unpublished repositories never give objects (issue 16.6)');
const dir = tmpDir(t, 'grok-unpublished-');
const top = path.join(dir, 'origin');
const objstoreDir = path.join(top, 'objstore');
const bundles = path.join(dir, 'bundles');
const manifest = path.join(top, 'manifest.js.gz');
const conf = path.join(dir, 'origin.conf');
writeFileSync(
  conf,
  `[core]\ntoplevel = ${top}\nmanifest = ${manifest}\n[manifest]\nignore = /private/*\ncheck_export_ok = yes\n` +
    `[origin]\nlisten = 127.0.0.1:0\n[fsck]\nstatusfile = ${path.join(dir, 'fsck.status.js')}\npreload_bundle_outdir = ${bundles}\n`,
);
const keyOf = (r: string) => `/${path.relative(top, r)}`;

const upstream = path.join(top, 'pub/upstream.git');
makeRepo(upstream, { commits: 8 });
const publicForks = ['alice', 'bob'].map((u, i) => {
  const f = path.join(top, `pub/forks/${u}.git`);
  mkdirSync(path.dirname(f), { recursive: true });
  git(['clone', '-q', '--bare', '--no-local', upstream, f]);
  pushCommit(f, { branch: `work-${i}`, date: 1_650_000_000 + i });
  return f;
});
const unpublished = {
  ignored: path.join(top, 'private/ignored.git'),
  unlisted: path.join(top, 'pub/forks/unlisted.git'),
  hidden: path.join(top, 'pub/forks/hidden.git'),
  leaked: path.join(top, 'private/joined-before.git'),
  lender: path.join(top, 'private/lender.git'),
};
for (const [name, r] of Object.entries(unpublished)) if (name !== 'unlisted') forkWithSecret(upstream, r, `secret of ${name}`, name);
// A public fork that borrows straight from the private lender (a clone made with --reference).
const carol = path.join(top, 'pub/forks/carol.git');
git(['clone', '-q', '--bare', '--reference', unpublished.lender, upstream, carol]);
const served = [upstream, ...publicForks, carol];
for (const r of [...served, unpublished.ignored, unpublished.leaked, unpublished.lender]) writeFileSync(path.join(r, 'git-daemon-export-ok'), '');

const g = new Git();
await t.test('setup: the manifest, then what an earlier grok-fsck left', async (t) => {
  const walk = await runBin(BIN.manifest, ['--cfgfile', conf]);
  t.equal(walk.code, 0, walk.stderr);
  // Not in the manifest: made after the walk, never notified (exported, not ignored).
  forkWithSecret(upstream, unpublished.unlisted, 'secret of unlisted', 'unlisted');
  writeFileSync(path.join(unpublished.unlisted, 'git-daemon-export-ok'), '');
  // An objstore as grok-fsck made it before this fix: the ignored fork joined it like a public one.
  const store = objstorePath(objstoreDir, 'f0000000-0000-4000-8000-000000000016');
  await createObjstore(g, store);
  for (const r of [upstream, ...publicForks, unpublished.leaked]) await joinStore(g, store, r, { isPrivate: false, plumbing: false });
  await writePreloadBundle(g, store, path.basename(store, '.git'), bundles);
  t.ok(hasObject(store, [...allObjects(unpublished.leaked)].find((o) => !allObjects(upstream).has(o))!), 'the earlier objstore holds its objects');
});

const publicObjects = new Set(served.flatMap((r) => [...allObjects(r)]));
const secrets = Object.fromEntries(Object.entries(unpublished).map(([n, r]) => [n, [...allObjects(r)].filter((o) => !publicObjects.has(o))]));
const refsBefore = Object.fromEntries(Object.entries(unpublished).map(([n, r]) => [n, refsOf(r)]));
t.comment(Object.entries(secrets).map(([n, o]) => `${n}: ${o.length} objects of its own`).join('; '));

function bundleObjects(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const b of readdirSync(bundles).filter((f) => f.endsWith('.bundle'))) {
    const scratch = path.join(dir, `unbundle-${b}-${Date.now()}`);
    git(['init', '-q', '--bare', scratch]);
    gitDir(scratch, ['bundle', 'unbundle', path.join(bundles, b)]);
    out.set(b, ownObjects(scratch));
  }
  return out;
}

function checkObjstores(t: Test, label: string): void {
  for (const [name, r] of Object.entries(unpublished)) {
    const found = storeFindings(objstoreDir, secrets[name]!, r);
    table.add(`${label}: objstore vs the ${name} fork's ${secrets[name]!.length} objects`, 'none in its object dirs, no cat-file -e, no refs/virtual, no remote, no member entry', found.length === 0 ? '0 found' : found.slice(0, 3).join('; '), t.same(found, [], `${label}: nothing of ${name} in the objstore`));
  }
}

t.test('grok-fsck with a user of the objstore busy: members leave, the purge waits, marked', async (t) => {
  // grok-pull (or anything holding its lock) works on the fork that joined before: the objstore can
  // lose what only it needs only once it is sure that fork took its objects back. The lock is held
  // until grok-fsck is done with the objstore (its status file says so), then given back so that the
  // fork's own turn does not wait.
  const store = storesIn(objstoreDir)[0]!;
  const held = await acquireLock(lockPathFor(unpublished.leaked), { timeoutMs: 0 });
  const running = runBin(BIN.fsck, ['-c', conf, '-f']);
  const statusFile = path.join(dir, 'fsck.status.js');
  for (let i = 0; i < 600 && !(existsSync(statusFile) && readFileSync(statusFile, 'utf8').includes(store)); i++) await sleep(100);
  await held.release();
  const r = await running;
  t.equal(r.code, 0, r.stderr);
  const marked = readFileSync(path.join(store, 'grokmirror.purge'), 'utf8');
  const refs = refsOf(store);
  const stillThere = secrets.leaked!.filter((o) => ownObjects(store).has(o)).length;
  const ok = marked.includes(unpublished.leaked) && !refs.includes(path.basename(unpublished.leaked)) && /purged next run/.test(r.stderr);
  table.add('busy user: grok-fsck -f while the fork that joined before is locked', 'it leaves (refs, remote, member entry gone), the objstore is marked for a purge, a warning says the purge waits', `marked: ${marked.trim().split('\t')[0]}; ${stillThere} of its objects still in the objstore; ${/purged next run/.test(r.stderr) ? 'warned' : 'NOT warned'}`, t.ok(ok, 'left and marked'));
  const bundle = bundleObjects();
  const inBundle = [...bundle.values()].flatMap((objs) => secrets.leaked!.filter((o) => objs.has(o)));
  table.add('busy user: the preload bundle', 'the one holding its objects is gone at once', `${bundle.size} bundle(s), ${inBundle.length} of its objects in them`, t.same(inBundle, [], 'no bundle with its objects'));
});

t.test('the next grok-fsck purges; no unpublished object is in the objstore', async (t) => {
  const r = await runBin(BIN.fsck, ['-c', conf, '-f']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /purged the objects of .*joined-before\.git/, 'says what it purged');
  const stores = storesIn(objstoreDir);
  table.add('grok-fsck -f, then the objstores', 'one objstore for the network, no purge mark left', `${stores.length} objstore(s); mark ${stores.some((s) => readdirSync(s).includes('grokmirror.purge')) ? 'LEFT' : 'gone'}`, t.ok(stores.length === 1 && !readdirSync(stores[0]!).includes('grokmirror.purge')));
  checkObjstores(t, 'after the purge');
  const carolAlt = readFileSync(path.join(carol, 'objects/info/alternates'), 'utf8').trim();
  table.add('the public fork that borrowed from the private lender', 'borrows from the objstore now, not from the lender', carolAlt, t.ok(carolAlt.startsWith(objstoreDir) && !carolAlt.includes('lender'), 'carol no longer borrows from the lender'));
  const bundle = bundleObjects();
  const leakedIn = [...bundle].flatMap(([b, objs]) => Object.entries(secrets).flatMap(([n, oids]) => oids.filter((o) => objs.has(o)).map((o) => `${b} holds ${n} ${o}`)));
  table.add('the preload bundle, written after the purge', 'present; none of the unpublished objects in it', `${bundle.size} bundle(s); ${leakedIn.length} unpublished objects`, t.ok(bundle.size === 1 && leakedIn.length === 0, leakedIn.slice(0, 3).join('; ')));
  for (const [name, repo] of Object.entries(unpublished)) {
    const missing = [...allObjects(repo)].filter((o) => !hasObject(repo, o));
    const whole = refsOf(repo) === refsBefore[name] && missing.length === 0 && fsckOk(repo).ok;
    table.add(`the ${name} fork itself`, 'refs unchanged, every object readable, git fsck clean', `refs ${refsOf(repo) === refsBefore[name] ? 'unchanged' : 'CHANGED'}; ${missing.length} missing; fsck ${fsckOk(repo).ok ? 'clean' : 'FAILED'}`, t.ok(whole, `${name} whole`));
  }
  const dirty = [...served, ...stores].filter((x) => !fsckOk(x).ok);
  table.add('git fsck of the served repositories and the objstore', 'clean', dirty.length === 0 ? 'clean' : dirty.join(', '), t.same(dirty, []));
});

t.test('grok-origin serves none of it: clones, raw v2 wants, the preload bundle', async (t) => {
  const origin = await startOriginProcess(conf, { t, args: [] });
  const scratch = path.join(dir, 'scratch');
  mkdirSync(scratch, { recursive: true });
  const all = Object.entries(secrets).flatMap(([n, oids]) => oids.map((o) => ({ n, o })));
  for (const r of served) {
    const sent: string[] = [];
    for (const { n, o } of all) if ((await wantObject(origin.url, keyOf(r), o, 2, scratch)).objects.has(o)) sent.push(`${n} ${o}`);
    table.add(`raw v2 "want <oid>" to ${keyOf(r)} for each of ${all.length} unpublished objects`, 'never sent', sent.length === 0 ? '0 sent' : sent.slice(0, 3).join('; '), t.same(sent, [], `${keyOf(r)} sends none`));
  }
  const control = await wantObject(origin.url, keyOf(publicForks[0]!), gitDir(upstream, ['rev-parse', 'HEAD']), 2, scratch);
  table.add('control: v2 want of a public commit from a public fork', 'sent', control.objects.size > 0 ? 'sent' : 'NOT sent', t.ok(control.objects.size > 0, 'the probe works'));
  const clone = path.join(scratch, 'alice-mirror.git');
  git(['clone', '-q', '--mirror', `${origin.url}${keyOf(publicForks[0]!)}`, clone]);
  const inClone = all.filter(({ o }) => hasObject(clone, o));
  table.add('git clone --mirror of a public fork', 'none of the unpublished objects; git fsck clean', `${inClone.length} found; fsck ${fsckOk(clone).ok ? 'clean' : 'FAILED'}`, t.ok(inClone.length === 0 && fsckOk(clone).ok));
  const name = readdirSync(bundles).find((f) => f.endsWith('.bundle'))!;
  const res = await fetch(`${origin.url}/_grok/preload/${name}`);
  const file = path.join(scratch, 'served.bundle');
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  const unb = path.join(scratch, 'served-unbundled.git');
  git(['init', '-q', '--bare', unb]);
  gitDir(unb, ['bundle', 'unbundle', file]);
  const inServed = all.filter(({ o }) => ownObjects(unb).has(o));
  table.add(`GET /_grok/preload/${name}`, 'none of the unpublished objects', `HTTP ${res.status}; ${inServed.length} found`, t.ok(res.status === 200 && inServed.length === 0));
  for (const r of Object.values(unpublished).filter((x) => x !== unpublished.leaked && x !== unpublished.lender)) {
    const status = (await fetch(`${origin.url}${keyOf(r)}/info/refs?service=git-upload-pack`)).status;
    table.add(`GET ${keyOf(r)}/info/refs`, '404: not served', String(status), t.equal(status, 404));
  }
  t.equal(await origin.stop(), 0);
});

t.test('a push to an ignored fork with grok-manifest -o feeds no objstore', async (t) => {
  const store = storesIn(objstoreDir)[0]!;
  const sha = pushCommit(unpublished.ignored, { branch: 'after', date: 1_770_000_000 });
  const r = await runBin(BIN.manifest, ['--cfgfile', conf, '-n', '-o', unpublished.ignored]);
  t.equal(r.code, 0, r.stderr);
  table.add('grok-manifest -n -o on the ignored fork after a push', 'its new commit is not in the objstore', hasObject(store, sha) ? 'IN the objstore' : 'not there', t.notOk(hasObject(store, sha)));
});

t.teardown(() => {
  const file = table.write('Produced by test/reliability/unpublished-objects.test.ts. Objects are looked for in the objstore\'s own object directory and in bundles unpacked into empty repositories.');
  t.comment(`unpublished objects: ${table.rows.length} cases, ${table.passed} as expected (${file})`);
});
