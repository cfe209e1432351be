/**
 * Issue 8, private and non-exported repositories: no object of a private repository ever appears in an
 * objstore, and nothing of a repository the origin does not export is served. An origin collection
 * with one fork network: an upstream, two public forks, a fork matching `[core] private` and a fork
 * without git-daemon-export-ok (`[manifest] check_export_ok`), each of the last two holding commits,
 * trees, blobs and a tag of its own. Every command runs as installed (dist/bin), with one config file
 * per side. Objects are looked for in an objstore's own object directory (loose files and pack
 * indexes), never through alternates, since protocol v2 upload-pack hands out any object a served
 * repository can reach through its alternates, advertised or not.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { CaseTable } from '../helpers/case-table.js';
import { runBin } from '../helpers/cli.js';
import { BIN } from '../helpers/fixture.js';
import { startOriginProcess } from '../helpers/origin-process.js';
import { fsckOk, git, gitDir, makeRepo, pushCommit } from '../helpers/git.js';
import { rawRequest } from '../helpers/origin.js';
import { tmpDir } from '../helpers/tmp.js';
import { hasObject as catE, refsOf } from '../helpers/fork-network.js';
import { allObjects, forkWithSecret, ownObjects, storeFindings, storesIn, wantObject } from '../helpers/objects.js';

const table = new CaseTable('private-repos', 'Private and non-exported repositories (issue 8)');

interface Net {
  dir: string;
  top: string;
  conf: string;
  manifest: string;
  upstream: string;
  publicForks: string[];
  privateFork: string;
  hidden: string;
  /** Objects only the private fork has, and only the non-exported one has. */
  privateOids: string[];
  hiddenOids: string[];
}

function makeNet(dir: string): Net {
  const top = path.join(dir, 'origin');
  const upstream = path.join(top, 'pub/upstream.git');
  makeRepo(upstream, { commits: 8 });
  const publicForks = ['alice', 'bob'].map((u) => path.join(top, `pub/forks/${u}.git`));
  publicForks.forEach((f, i) => {
    mkdirSync(path.dirname(f), { recursive: true });
    git(['clone', '-q', '--bare', '--no-local', upstream, f]);
    pushCommit(f, { branch: `work-${i}`, date: 1_650_000_000 + i });
  });
  const privateFork = path.join(top, 'private/secret.git');
  forkWithSecret(upstream, privateFork, 'embargoed fix', 'embargo');
  const hidden = path.join(top, 'pub/forks/hidden.git');
  forkWithSecret(upstream, hidden, 'not exported', 'hidden');
  for (const r of [upstream, ...publicForks, privateFork]) writeFileSync(path.join(r, 'git-daemon-export-ok'), '');
  const pub = new Set([upstream, ...publicForks].flatMap((r) => [...allObjects(r)]));
  const privateOids = [...allObjects(privateFork)].filter((o) => !pub.has(o)).sort();
  const hiddenOids = [...allObjects(hidden)].filter((o) => !pub.has(o)).sort();
  const manifest = path.join(top, 'manifest.js.gz');
  const conf = path.join(dir, 'origin.conf');
  writeFileSync(
    conf,
    `[core]\ntoplevel = ${top}\nmanifest = ${manifest}\nprivate = */private/*\n[manifest]\ncheck_export_ok = yes\n` +
      `[origin]\nlisten = 127.0.0.1:0\n[fsck]\nstatusfile = ${path.join(dir, 'origin-fsck.status.js')}\npreload_bundle_outdir = ${path.join(dir, 'bundles')}\n`,
  );
  return { dir, top, conf, manifest, upstream, publicForks, privateFork, hidden, privateOids, hiddenOids };
}

const remoteNames = (s: string) =>
  gitDir(s, ['config', '--get-regexp', '^remote\\..*\\.url$'])
    .split('\n')
    .map((l) => path.relative(path.dirname(path.dirname(s)), l.slice(l.indexOf(' ') + 1)))
    .sort()
    .join(', ');

const dir = tmpDir(t, 'grok-private-');
const net = makeNet(dir);
const originObjstore = path.join(net.top, 'objstore');
const keyOf = (repo: string) => `/${path.relative(net.top, repo)}`;
t.comment(`${net.privateOids.length} objects only the private fork has, ${net.hiddenOids.length} only the non-exported fork has`);

t.test('(a) origin: grok-fsck groups the network; no private object enters the objstore', async (t) => {
  t.ok(net.privateOids.length >= 4 && net.hiddenOids.length >= 4, 'each holds a commit, a tree, a blob and a tag of its own');
  const walk = await runBin(BIN.manifest, ['--cfgfile', net.conf]);
  t.equal(walk.code, 0, walk.stderr);
  const refsBefore = refsOf(net.privateFork);
  for (const args of [['-f'], ['--repack-all-full']]) {
    const r = await runBin(BIN.fsck, ['-c', net.conf, ...args]);
    t.equal(r.code, 0, `grok-fsck ${args.join(' ')}: ${r.stderr}`);
  }
  const stores = storesIn(originObjstore);
  table.add('(a) origin grok-fsck -f, then --repack-all-full', 'one objstore for the fork network', `${stores.length} objstore(s)`, t.equal(stores.length, 1, 'one objstore'));
  const alt = readFileSync(path.join(net.privateFork, 'objects/info/alternates'), 'utf8').trim();
  table.add('(a) private fork after fsck', 'borrows from the objstore (alternates) but is no member', `alternates -> ${path.relative(net.top, alt)}`, t.equal(alt, path.join(stores[0]!, 'objects'), 'the private fork borrows'));
  const privFound = storeFindings(originObjstore, net.privateOids, net.privateFork);
  table.add(
    '(a) origin objstore vs private-only objects',
    `none of the ${net.privateOids.length} objects in its object dirs (loose, packs), no cat-file -e, no refs/virtual/<virtref>, no remote, not in the member list`,
    privFound.length === 0 ? `0 found; the objstore's remotes: ${remoteNames(stores[0]!)}` : privFound.slice(0, 4).join('; '),
    t.same(privFound, [], 'nothing of the private fork in the objstore'),
  );
  const own = ownObjects(net.privateFork);
  const missing = net.privateOids.filter((o) => !own.has(o));
  const ok = fsckOk(net.privateFork);
  table.add(
    '(a) private fork keeps its own objects',
    'all private-only objects in its own object dir, refs unchanged, git fsck clean',
    `${net.privateOids.length - missing.length}/${net.privateOids.length} own; refs ${refsOf(net.privateFork) === refsBefore ? 'unchanged' : 'CHANGED'}; fsck ${ok.ok ? 'clean' : ok.output}`,
    t.ok(missing.length === 0 && refsOf(net.privateFork) === refsBefore && ok.ok, 'private fork whole'),
  );
  const hidFound = storeFindings(originObjstore, net.hiddenOids, net.hidden);
  table.add(
    '(a) origin objstore vs non-exported-only objects',
    'none in the objstore: a public sibling would serve them (protocol v2 wants any reachable object)',
    hidFound.length === 0 ? '0 found' : hidFound.slice(0, 4).join('; '),
    t.same(hidFound, [], 'nothing of the non-exported fork in the objstore'),
  );
  const bundles = existsSync(path.join(net.dir, 'bundles')) ? readdirSync(path.join(net.dir, 'bundles')).filter((f) => f.endsWith('.bundle')) : [];
  const inBundles: string[] = [];
  for (const b of bundles) {
    const scratch = path.join(net.dir, `unbundle-${b}`);
    git(['init', '-q', '--bare', scratch]);
    gitDir(scratch, ['bundle', 'unbundle', path.join(net.dir, 'bundles', b)]);
    const objs = ownObjects(scratch);
    for (const o of [...net.privateOids, ...net.hiddenOids]) if (objs.has(o)) inBundles.push(`${b} holds ${o}`);
  }
  table.add('(a) preload bundle of the objstore', 'written after the full repack; holds no private or non-exported object', `${bundles.length} bundle(s); ${inBundles.length} such objects`, t.ok(bundles.length === 1 && inBundles.length === 0, 'bundle clean'));
  const dirty = [net.upstream, ...net.publicForks, net.privateFork, net.hidden, ...stores].filter((r) => !fsckOk(r).ok);
  table.add('(a) git fsck after the objstore work', 'every repository and the objstore clean', dirty.length === 0 ? 'all clean' : dirty.join(', '), t.same(dirty, [], 'git fsck clean everywhere'));
});

t.test('(b) grok-origin serves nothing of the non-exported fork and no private object through a sibling', async (t) => {
  const origin = await startOriginProcess(net.conf, { t });
  const scratch = path.join(net.dir, 'scratch');
  mkdirSync(scratch, { recursive: true });
  const doc = JSON.parse(gunzipSync(Buffer.from(await (await fetch(`${origin.url}/manifest.js.gz`)).arrayBuffer())).toString('utf8')) as Record<string, unknown>;
  table.add('(b) served manifest', 'lists the exported repos (private fork included), not the non-exported one', Object.keys(doc).sort().join(' '), t.ok(!(keyOf(net.hidden) in doc) && keyOf(net.privateFork) in doc && Object.keys(doc).length === 4, 'manifest content'));

  const hk = keyOf(net.hidden);
  const store = storesIn(originObjstore)[0]!;
  // A public path that is a symlink to the non-exported fork: served as its target would be, so not at all.
  symlinkSync(net.hidden, path.join(net.top, 'pub/alias.git'));
  const probes: [string, () => Promise<number>][] = [
    [`GET ${hk}/info/refs?service=git-upload-pack`, async () => (await fetch(`${origin.url}${hk}/info/refs?service=git-upload-pack`)).status],
    [`GET ${hk}/info/refs (protocol v2)`, async () => (await fetch(`${origin.url}${hk}/info/refs?service=git-upload-pack`, { headers: { 'git-protocol': 'version=2' } })).status],
    [`POST ${hk}/git-upload-pack (v2 fetch)`, async () => (await wantObject(origin.url, hk, net.hiddenOids[0]!, 2, scratch)).status],
    [`POST ${hk}/git-upload-pack (v0)`, async () => (await wantObject(origin.url, hk, net.hiddenOids[0]!, 0, scratch)).status],
    ['GET /pub/alias.git/info/refs (symlink to it)', async () => (await fetch(`${origin.url}/pub/alias.git/info/refs?service=git-upload-pack`)).status],
    ['GET /pub/forks/alice.git/../hidden.git/info/refs (raw path)', async () => (await rawRequest(origin.url, '/pub/forks/alice.git/../hidden.git/info/refs?service=git-upload-pack')).status],
    [`GET /objstore/${path.basename(store)}/info/refs (the objstore itself)`, async () => (await fetch(`${origin.url}/objstore/${path.basename(store)}/info/refs?service=git-upload-pack`)).status],
  ];
  for (const [name, probe] of probes) {
    const status = await probe();
    table.add(`(b) ${name}`, '404', String(status), t.equal(status, 404, name));
  }

  for (const [r, version] of [[net.publicForks[0]!, 2], [net.upstream, 2], [net.publicForks[1]!, 0]] as const) {
    const clone = path.join(scratch, `clone-${path.basename(r)}-v${version}`);
    git(['-c', `protocol.version=${version}`, 'clone', '-q', '--mirror', `${origin.url}${keyOf(r)}`, clone]);
    const leaked = [...net.privateOids, ...net.hiddenOids].filter((o) => catE(clone, o));
    table.add(`(b) git clone --mirror ${keyOf(r)} from grok-origin (protocol v${version})`, 'no private or non-exported object in the clone; git fsck clean', `${leaked.length} leaked; fsck ${fsckOk(clone).ok ? 'clean' : 'FAILED'}`, t.ok(leaked.length === 0 && fsckOk(clone).ok, `clone of ${keyOf(r)} clean`));
  }

  // Straight to upload-pack: ask a public sibling (whose alternates point at the objstore) for every
  // private or non-exported object by id. git's v2 upload-pack honours any want it can read.
  const sibling = keyOf(net.publicForks[0]!);
  const asked = [
    ...net.privateOids.map((o) => ({ o, what: 'private' })),
    ...net.hiddenOids.map((o) => ({ o, what: 'non-exported' })),
  ];
  for (const version of [2, 0] as const) {
    const got: string[] = [];
    const answers = new Set<string>();
    for (const { o, what } of asked) {
      const r = await wantObject(origin.url, sibling, o, version, scratch);
      if (r.objects.has(o)) got.push(`${what} ${o}`);
      answers.add(r.objects.size > 0 ? 'a pack without it' : r.said.replace(/[0-9a-f]{40}/g, '<oid>') || `HTTP ${r.status}, empty`);
    }
    table.add(
      `(b) raw protocol v${version} "want <oid>" to ${sibling}/git-upload-pack, for each of ${asked.length} private/non-exported objects`,
      'the object is never sent',
      got.length === 0 ? `0 sent; answers: ${[...answers].join(' / ')}` : got.slice(0, 4).join('; '),
      t.same(got, [], `v${version} wants refused`),
    );
  }
  // The control: the same request for a private object from the private fork itself (it is exported
  // and listed, so it is served) does return it, so the refusals above are real.
  const control = await wantObject(origin.url, keyOf(net.privateFork), net.privateOids[0]!, 2, scratch);
  table.add('(b) control: v2 want of a private object from the private fork itself', 'sent (it is exported and listed; only sharing is forbidden)', control.objects.has(net.privateOids[0]!) ? 'sent' : `not sent: ${control.said}`, t.ok(control.objects.has(net.privateOids[0]!), 'the probe can see a served object'));
  table.add('(b) SIGTERM', 'exit 0', String(await origin.stop()), t.equal(await origin.stop(), 0));
});

t.test('(c) replica: the private fork is mirrored, never seeds or joins an objstore, and its objects stay out', async (t) => {
  const origin = await startOriginProcess(net.conf, { t });
  const mirror = path.join(net.dir, 'mirror');
  const rconf = path.join(net.dir, 'replica.conf');
  const replicaConf = (include: string) =>
    writeFileSync(
      rconf,
      `[core]\ntoplevel = ${mirror}\nmanifest = ${path.join(mirror, 'manifest.js.gz')}\nprivate = */private/*\n` +
        `[remote]\nsite = ${origin.url}\nmanifest = ${origin.url}/manifest.js.gz\n` +
        `[pull]\nprojectslist = ${path.join(mirror, 'projects.list')}\npull_threads = 2\ninclude = ${include}\n` +
        `[fsck]\nstatusfile = ${path.join(net.dir, 'replica-fsck.status.js')}\n`,
    );
  const mirrored = (r: string) => path.join(mirror, path.relative(net.top, r));
  const mObjstore = path.join(mirror, 'objstore');

  // First the private fork alone: with no objstore and no public sibling here, it must not make one.
  replicaConf('/private/*');
  let r = await runBin(BIN.pull, ['-c', rconf]);
  t.equal(r.code, 0, r.stderr);
  table.add('(c) grok-pull of the private fork alone (include = /private/*)', 'cloned; no objstore created from it', `cloned: ${existsSync(path.join(mirrored(net.privateFork), 'HEAD'))}; objstores: ${storesIn(mObjstore).length}`, t.ok(existsSync(path.join(mirrored(net.privateFork), 'HEAD')) && storesIn(mObjstore).length === 0, 'private fork does not seed'));

  replicaConf('*');
  r = await runBin(BIN.pull, ['-c', rconf]);
  t.equal(r.code, 0, r.stderr);
  const fsck = await runBin(BIN.fsck, ['-c', rconf, '--repack-all-full']);
  t.equal(fsck.code, 0, fsck.stderr);
  const stores = storesIn(mObjstore);
  table.add('(c) grok-pull of everything, then grok-fsck --repack-all-full on the replica', 'the public forks share one objstore; the non-exported fork is not mirrored', `${stores.length} objstore(s); hidden mirrored: ${existsSync(mirrored(net.hidden))}`, t.ok(stores.length === 1 && !existsSync(mirrored(net.hidden)), 'replica layout'));
  const checkReplica = (label: string, oids: readonly string[]) => {
    const found = storeFindings(mObjstore, oids, mirrored(net.privateFork));
    table.add(`(c) replica objstore vs private-only objects ${label}`, 'none in its object dirs, no refs/virtual/<virtref>, no remote, not a member', found.length === 0 ? `0 of ${oids.length} found` : found.slice(0, 4).join('; '), t.same(found, [], `replica objstore clean ${label}`));
    const refsMatch = refsOf(mirrored(net.privateFork)) === refsOf(net.privateFork);
    const own = ownObjects(mirrored(net.privateFork));
    const missing = oids.filter((o) => !own.has(o));
    const ok = fsckOk(mirrored(net.privateFork)).ok;
    table.add(`(c) mirrored private fork ${label}`, 'same refs as the origin, every private object in its own object dir, git fsck clean', `refs ${refsMatch ? 'equal' : 'DIFFER'}; ${oids.length - missing.length}/${oids.length} own; fsck ${ok ? 'clean' : 'FAILED'}`, t.ok(refsMatch && missing.length === 0 && ok, `mirrored private fork whole ${label}`));
  };
  checkReplica('after the first mirror', net.privateOids);

  // New embargoed work on the origin: the hook (grok-manifest -o, which feeds objstores), grok-fsck on the origin, then a replica pass (fetch and housekeeping) and grok-fsck there.
  const work = path.join(net.dir, 'secret-work');
  git(['clone', '-q', net.privateFork, work]);
  writeFileSync(path.join(work, 'SECRET2.txt'), 'second embargoed fix\n');
  git(['add', 'SECRET2.txt'], { cwd: work });
  git(['commit', '-q', '-m', 'second embargoed fix'], { cwd: work });
  git(['push', '-q', 'origin', 'HEAD:refs/heads/embargo-2'], { cwd: work });
  const before = new Set([...allObjects(net.upstream), ...net.publicForks.flatMap((f) => [...allObjects(f)])]);
  const newOids = [...allObjects(net.privateFork)].filter((o) => !before.has(o) && !net.privateOids.includes(o));
  // With check_export_ok the hook updates the file itself (the server reloads it); -o feeds objstores.
  const hook = await runBin(BIN.manifest, ['--cfgfile', net.conf, '-o', net.privateFork]);
  t.equal(hook.code, 0, hook.stderr);
  const ofsck = await runBin(BIN.fsck, ['-c', net.conf, '--repack-all-full']);
  t.equal(ofsck.code, 0, ofsck.stderr);
  const originFound = storeFindings(originObjstore, [...net.privateOids, ...newOids], net.privateFork);
  table.add(`(c) origin after a new private push, hook with -o, grok-fsck --repack-all-full`, `none of the ${newOids.length} new private objects (nor the old) in the origin objstore`, originFound.length === 0 ? '0 found' : originFound.slice(0, 4).join('; '), t.same(originFound, [], 'origin objstore still clean'));
  r = await runBin(BIN.pull, ['-c', rconf]);
  t.equal(r.code, 0, r.stderr);
  const rfsck = await runBin(BIN.fsck, ['-c', rconf, '--repack-all-full']);
  t.equal(rfsck.code, 0, rfsck.stderr);
  checkReplica('after the new push was pulled and fsck ran', [...net.privateOids, ...newOids]);
  const dirty = [...[net.upstream, ...net.publicForks, net.privateFork].map(mirrored), ...stores].filter((x) => !fsckOk(x).ok);
  table.add('(c) git fsck on the replica', 'every mirrored repository and the objstore clean', dirty.length === 0 ? 'all clean' : dirty.join(', '), t.same(dirty, [], 'replica fsck clean'));
  t.equal(await origin.stop(), 0);
});

t.teardown(() => {
  const file = table.write(`Produced by test/reliability/private-repos.test.ts. Objects are looked for in each objstore's own object directory (loose files and pack indexes).`);
  const refused = table.rows.filter((r) => r.ok).length;
  t.comment(`private repos: ${table.rows.length} cases, ${refused} as expected (${file})`);
});
