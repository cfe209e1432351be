/**
 * Issue 23 items 2 and 3, partial clones. git 2.39's `clone --filter` marks the remote
 * (`remote.<name>.promisor = true`) and writes no `extensions.partialClone`: a check of the extension
 * alone took `[pull] partial` repositories for complete ones, so grok-fsck tried to join them to an
 * objstore on every run (leaving a remote behind that broke the objstore's own refresh), repacked
 * them, and grok-pull let one seed a forkgroup's objstore. And a tier listed its partial clones as
 * ordinary repositories, which the next tier then failed to clone on every pass: entries are now
 * marked `"partial": "<filter>"`, and the next tier clones them partial with that filter.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import t, { type Test } from 'tap';
import { Git } from '../../shared/git/index.js';
import { addMember } from '../../shared/objstore/index.js';
import { isPromisorRepo, partialMark } from '../../shared/repo/promisor.js';
import { CaseTable } from '../helpers/case-table.js';
import { fsck, fsckConfig } from '../helpers/fsck.js';
import { fsckOk, git, GIT_ENV, gitDir, makeBigRepo, makeRepo, pushCommit } from '../helpers/git.js';
import { runM } from '../helpers/manifest.js';
import { startTestOrigin } from '../helpers/origin.js';
import { pull, replicaConfig } from '../helpers/replica.js';
import { tmpDir } from '../helpers/tmp.js';

const table = new CaseTable('partial-clones', 'Partial clones: recognised as git does, kept out of objstores, marked for the next tier (issue 23 items 2, 3)');
const gitAsync = async (args: string[]) => (await promisify(execFile)('git', args, { env: GIT_ENV, maxBuffer: 64 * 1024 * 1024 })).stdout;
const refsOf = (repo: string) => gitDir(repo, ['for-each-ref', '--format=%(objectname) %(refname)']);
const storesIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.git') && !n.startsWith('.')).map((n) => path.join(dir, n)) : []);
const remotesOf = (store: string) => {
  try {
    return gitDir(store, ['config', '--get-regexp', '^remote\\..*\\.url$']).split('\n').map((l) => l.split(' ').slice(1).join(' '));
  } catch {
    return [];
  }
};
const localManifest = (top: string) => JSON.parse(gunzipSync(readFileSync(path.join(top, 'manifest.js.gz'))).toString('utf8')) as Record<string, Record<string, unknown>>;

t.test('a promisor repository is recognised the way git recognises one', async (t) => {
  const dir = tmpDir(t);
  const cases: [string, string, boolean, string | true | null][] = [
    ['no promisor', '[remote "origin"]\n\turl = x\n', false, null],
    ['remote.<name>.promisor = true (git 2.39 clone --filter)', '[remote "_grokmirror"]\n\turl = x\n\tpromisor = true\n\tpartialclonefilter = blob:none\n', true, 'blob:none'],
    ['promisor with no value', '[remote "a"]\n\tpromisor\n', true, true],
    ['promisor = yes, mixed-case key', '[remote "a"]\n\tPromisor = yes\n', true, true],
    ['promisor = 1', '[remote "a"]\n\tpromisor = 1\n', true, true],
    ['promisor = false', '[remote "a"]\n\tpromisor = false\n', false, null],
    ['promisor = 0 after true: last wins', '[remote "a"]\n\tpromisor = true\n[remote "a"]\n\tpromisor = 0\n', false, null],
    ['the second of two remotes', '[remote "a"]\n\turl = x\n[remote "b"]\n\tpromisor = on\n\tpartialclonefilter = tree:0\n', true, 'tree:0'],
    ['extensions.partialClone only (older git)', '[extensions]\n\tpartialClone = origin\n[remote "origin"]\n\tpartialclonefilter = blob:limit=1m\n', true, 'blob:limit=1m'],
    ['a filter on a remote, nothing else', '[remote "a"]\n\tpartialclonefilter = blob:none\n', true, 'blob:none'],
    ['a filter we do not pass ourselves', '[remote "a"]\n\tpromisor = true\n\tpartialclonefilter = sparse:oid=HEAD:x\n', true, true],
    ['an include of a missing file: taken as partial', '[include]\n\tpath = other\n', true, true],
    // public-inbox's epochs: `[include] path = ../../all.git/config`, a plain config.
    ['an include of a plain config (public-inbox epochs)', '[include]\n\tpath = ../plain.config\n', false, null],
    ['an include naming a promisor remote', '[include]\n\tpath = ../promisor.config\n', true, 'blob:none'],
    ['an include nesting one more', '[include]\n\tpath = ../nested.config\n', true, 'blob:none'],
    ['includeIf (not followed): taken as partial', '[includeIf "gitdir:/x/"]\n\tpath = ../plain.config\n', true, true],
  ];
  writeFileSync(path.join(dir, 'plain.config'), '[repack]\n\twriteBitmaps = true\n');
  writeFileSync(path.join(dir, 'promisor.config'), '[remote "a"]\n\tpromisor = true\n\tpartialclonefilter = blob:none\n');
  writeFileSync(path.join(dir, 'nested.config'), '[include]\n\tpath = promisor.config\n');
  for (const [name, config, partial, mark] of cases) {
    const repo = path.join(dir, `${cases.findIndex((c) => c[0] === name)}.git`);
    mkdirSync(repo);
    writeFileSync(path.join(repo, 'config'), `[core]\n\tbare = true\n${config}`);
    const got = [isPromisorRepo(repo), partialMark(repo)] as const;
    const ok = got[0] === partial && got[1] === mark;
    table.add(`config: ${name}`, `${partial ? 'partial' : 'complete'}, mark ${JSON.stringify(mark)}`, `${got[0] ? 'partial' : 'complete'}, mark ${JSON.stringify(got[1])}`, ok);
    t.ok(ok, name);
  }
});

/** An origin with a fork network (one objstore, forkgroups in its manifest), served over HTTP. */
async function forkNetwork(t: Test, dir: string) {
  const top = path.join(dir, 'origin');
  const up = path.join(top, 'up.git');
  makeRepo(up, { commits: 5 });
  for (const n of ['one', 'two']) {
    const f = path.join(top, `forks/${n}.git`);
    mkdirSync(path.dirname(f), { recursive: true });
    git(['clone', '-q', '--bare', '--no-local', up, f]);
    pushCommit(f, { branch: `${n}-work` });
  }
  await runM(top, path.join(top, 'manifest.js.gz'));
  t.same((await fsck(fsckConfig(top))).errors, [], 'the origin groups its forks');
  return { top, origin: await startTestOrigin(t, top) };
}

for (const plumbing of [false, true]) {
  t.test(`a [pull] partial fork never joins, seeds or breaks an objstore${plumbing ? ' (objstore_uses_plumbing)' : ''}`, async (t) => {
    const dir = tmpDir(t);
    const { origin } = await forkNetwork(t, dir);
    const mirror = path.join(dir, 'mirror');
    const base = replicaConfig(mirror, origin.url, 'partial = /forks/one.git\n');
    const config = { ...base, core: { ...base.core, objstore_uses_plumbing: plumbing } };
    const r = await pull(config);
    t.same(r.failed, []);
    const one = path.join(mirror, 'forks/one.git');
    const objstores = path.join(mirror, 'objstore');
    t.ok(isPromisorRepo(one), 'the partial fork is a promisor repository');
    const seeded = storesIn(objstores).some((s) => remotesOf(s).includes(one)) || existsSync(path.join(one, 'objects/info/alternates'));
    table.add(`grok-pull${plumbing ? ', plumbing' : ''}: the partial fork cloned first`, 'seeds no objstore, borrows from none', seeded ? 'seeded or borrows' : 'stands alone', !seeded);
    t.notOk(seeded, 'the partial fork seeds no objstore');

    const runs: string[] = [];
    for (let i = 1; i <= 2; i++) {
      const res = await fsck(config, { force: true });
      const joined = storesIn(objstores).some((s) => remotesOf(s).includes(one));
      const ok = res.errors.length === 0 && !joined && !res.repacked.includes('/forks/one.git');
      runs.push(`run ${i}: ${res.errors.length} errors${joined ? ', joined' : ''}${res.repacked.includes('/forks/one.git') ? ', repacked it' : ''}`);
      t.ok(ok, `grok-fsck run ${i}: ${JSON.stringify(res.errors).slice(0, 400)}`);
    }
    table.add(`grok-fsck twice${plumbing ? ', plumbing' : ''}`, 'no errors, the partial fork neither joined nor repacked', runs.join('; '), !runs.some((x) => /errors,|[1-9]\d* errors|joined|repacked/.test(x)));

    // What earlier runs left: a remote for the partial fork in its forkgroup's objstore.
    const store = storesIn(objstores)[0]!;
    t.ok(store, 'the rest of the network has an objstore');
    await addMember(new Git(), store, one);
    const res = await fsck(config, { force: true });
    const repaired = res.errors.length === 0 && !remotesOf(store).includes(one);
    table.add(`an objstore with a remote for the partial fork (left by earlier runs)${plumbing ? ', plumbing' : ''}`, 'the remote is removed, the run is clean', repaired ? 'repaired' : `errors: ${JSON.stringify(res.errors).slice(0, 200)}; remotes: ${remotesOf(store).join(', ')}`, repaired);
    t.ok(repaired, JSON.stringify(res.errors));
    for (const r of [one, store, path.join(mirror, 'forks/two.git'), path.join(mirror, 'up.git')]) t.ok(fsckOk(r).ok, `${r}: git fsck`);
  });
}

t.test('origin -> tier 1 (partial) -> tier 2: the partial entry is marked and cloned partial, updates flow', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeBigRepo(path.join(top, 'big.git'));
  makeRepo(path.join(top, 'small.git'), { commits: 2 });
  const origin = await startTestOrigin(t, top);
  const t1 = path.join(dir, 'tier1');
  const c1 = replicaConfig(t1, origin.url, 'partial = /big.git\n');
  t.same((await pull(c1)).failed, []);
  const marks = () => Object.fromEntries(Object.entries(localManifest(t1)).map(([k, e]) => [k, e.partial]));
  t.same(marks(), { '/big.git': 'blob:none', '/small.git': undefined }, "tier 1's manifest marks the partial clone only");

  const tier1 = await startTestOrigin(t, t1);
  const t2 = path.join(dir, 'tier2');
  const c2 = replicaConfig(t2, tier1.url);
  const r2 = await pull(c2);
  const big2 = path.join(t2, 'big.git');
  const cloned = r2.failed.length === 0 && existsSync(big2) && refsOf(big2) === refsOf(path.join(top, 'big.git'));
  table.add('tier 2 clones a partial clone of tier 1', 'cloned (partial, same refs), no failure', cloned ? `cloned, ${isPromisorRepo(big2) ? 'partial' : 'complete'}` : `failed: ${JSON.stringify(r2.failed).slice(0, 300)}`, cloned && isPromisorRepo(big2));
  t.ok(cloned, JSON.stringify(r2.failed));
  t.ok(isPromisorRepo(big2), 'tier 2 holds it partial');
  t.equal(localManifest(t2)['/big.git']?.partial, 'blob:none', "tier 2's own manifest marks it for a tier 3");
  t.equal(localManifest(t2)['/small.git']?.partial, undefined);
  t.ok(fsckOk(big2).ok, fsckOk(big2).output);

  // Contents on demand through the chain: tier 2 asks tier 1, which asks the origin.
  const log = await gitAsync([`--git-dir=${big2}`, 'log', '-p', '-1', '--format=%s', 'master']).catch((e: Error) => `failed: ${e.message}`);
  const read = /^commit 4/m.test(log) && /Binary files/.test(log);
  table.add('tier 2 reads a file content it lacks', 'fetched on demand through tier 1 (its upload-pack may fetch from the origin)', read ? 'read' : log.slice(0, 200), read);
  t.ok(read, log.slice(0, 300));

  // An update travels: origin -> tier 1 -> tier 2, each still partial.
  const sha = pushCommit(path.join(top, 'big.git'));
  await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/big.git'] } });
  t.same((await pull(c1)).updated, ['/big.git']);
  let r3 = await pull(c2, { force: true });
  for (let i = 0; i < 50 && !r3.updated.includes('/big.git'); i++) {
    await new Promise((res) => setTimeout(res, 100)); // tier 1's grok-origin notices its manifest changed
    r3 = await pull(c2, { force: true });
  }
  const flowed = r3.failed.length === 0 && gitDir(big2, ['rev-parse', 'refs/heads/master']) === sha;
  table.add('a push after the chain is set up', 'fetched by tier 1, then by tier 2', flowed ? 'arrived' : JSON.stringify(r3), flowed);
  t.ok(flowed, JSON.stringify(r3));
  t.ok(fsckOk(big2).ok);
  const again = await pull(c2, { force: true });
  t.same([again.failed, again.updated, again.cloned], [[], [], []], 'a pass with nothing new does nothing');
});

t.test('a partial clone made before marks existed is marked at the next pass', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'big.git'), { commits: 3 });
  const origin = await startTestOrigin(t, top);
  const t1 = path.join(dir, 'tier1');
  const c1 = replicaConfig(t1, origin.url, 'partial = /big.git\n');
  t.same((await pull(c1)).failed, []);
  const m = localManifest(t1);
  delete m['/big.git']!.partial;
  writeFileSync(path.join(t1, 'manifest.js.gz'), gzipSync(JSON.stringify(m)));
  const r = await pull(c1, { force: true });
  const marked = localManifest(t1)['/big.git']?.partial === 'blob:none';
  table.add('an unmarked partial clone (older version)', 'marked at the next pass, nothing fetched', marked ? `marked; ${r.updated.length} fetched` : 'unmarked', marked && r.failed.length === 0);
  t.ok(marked);
  t.same(r.failed, []);
});

t.teardown(() => {
  table.write();
});
