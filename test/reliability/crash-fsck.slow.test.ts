/**
 * kill -9 of the real grok-fsck (its process group: the command and every git it started) at seeded
 * random moments of objstore work on a fork network: six during the first migration into an objstore
 * and four during a later run that has a deleted fork to let go, a force-pushed fork, and a new fork
 * to take in. test/shared/fsck/crash.test.ts kills at evenly spaced points of the first migration;
 * this adds random moments, the later run, the manifest grok-fsck rewrites, and one check of every
 * ref. After each kill, and again after the rerun: no object lost (every ref of every repository
 * resolves, git fsck clean for each repository and objstore), every alternates file names an
 * existing objstore, the manifest parses, no temp file; after the rerun the network is one objstore
 * every member borrows from, and the private fork's blob is not in it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { readManifestFile } from '../../shared/manifest/io.js';
import { virtrefFor } from '../../shared/objstore/virtref.js';
import { CaseTable } from '../helpers/case-table.js';
import { ageGitLeftovers, alternatesProblems, fsckFailures, leftovers, objstoresIn } from '../helpers/convergence.js';
import { BIN } from '../helpers/fixture.js';
import { hasObject, makeForkNetwork, refsOf, type ForkNetwork } from '../helpers/fork-network.js';
import { git, GIT_ENV, gitDir, pushCommit } from '../helpers/git.js';
import { spawnKillable } from '../helpers/killable.js';
import { runM } from '../helpers/manifest.js';
import { rng, seedFor, spreadMoments } from '../helpers/seeded.js';
import { tmpDir } from '../helpers/tmp.js';

const SEED = seedFor(0x5eed_0004);
/** What grok-fsck says when a busy lock (a young git lock the kill left) makes it leave work for the next run. */
const DEFERRED_RE = /left for the next run|busy; next run|joins its objstore next time/;

function conf(top: string): string {
  const file = `${top}.conf`;
  writeFileSync(file, `[core]\ntoplevel = ${top}\nmanifest = ${top}/manifest.js.gz\nprivate = */private/*\n[fsck]\nstatusfile = ${top}/fsck.status.js\n`);
  return file;
}

/** grok-fsck -f -v (its info lines say what it left for the next run); killed (group) `killAfterMs` in unless it ended first. */
async function fsckRun(top: string, killAfterMs: number | null): Promise<{ code: number | null; ms: number; killed: boolean; stderr: string }> {
  const t0 = performance.now();
  const run = spawnKillable(BIN.fsck, ['-c', conf(top), '-f', '-v']);
  let killed = false;
  if (killAfterMs !== null) {
    await Promise.race([run.ended, new Promise((r) => setTimeout(r, killAfterMs))]);
    killed = run.kill('group');
  }
  const code = await run.ended;
  return { code, ms: performance.now() - t0, killed, stderr: run.stderr() };
}

function copyTree(from: string, to: string): void {
  const r = spawnSync('cp', ['-a', from, to]);
  if (r.status !== 0) throw new Error(`cp -a ${from} ${to}: ${r.stderr}`);
}

/** Refs whose objects are missing, through alternates (one cat-file per repository). */
function unresolvedRefs(repo: string): string[] {
  const refs = refsOf(repo).split('\n').filter((l) => l !== '');
  const out = spawnSync('git', [`--git-dir=${repo}`, 'cat-file', '--batch-check'], { input: refs.map((l) => `${l.split(' ')[0]}\n`).join(''), env: GIT_ENV, encoding: 'utf8' });
  return out.stdout.split('\n').filter((l) => l.endsWith(' missing')).map((l) => l.split(' ')[0]!);
}

/** Everything that must hold at any moment: after the kill as after the rerun. */
async function nothingLost(top: string, repos: ReadonlyMap<string, string>): Promise<string[]> {
  const problems: string[] = [];
  for (const [rel, refs] of repos) {
    const repo = path.join(top, rel);
    if (refsOf(repo) !== refs) problems.push(`${rel}: refs changed`);
    const missing = unresolvedRefs(repo);
    if (missing.length > 0) problems.push(`${rel}: ${missing.length} refs do not resolve`);
  }
  problems.push(...(await fsckFailures([...[...repos.keys()].map((r) => path.join(top, r)), ...objstoresIn(top)])).map((f) => path.relative(top, f)));
  problems.push(...alternatesProblems(top));
  try {
    if (!(await readManifestFile(path.join(top, 'manifest.js.gz')))) problems.push('manifest missing');
  } catch (err) {
    problems.push(`manifest does not parse: ${(err as Error).message}`);
  }
  return problems;
}

/** After a rerun: one objstore for the network, every member borrowing from it, no leftovers. */
function migrated(top: string, net: ForkNetwork, members: readonly string[]): string[] {
  const problems: string[] = [];
  const stores = objstoresIn(top);
  if (stores.length !== 1) return [`${stores.length} objstores: ${stores.map((s) => path.basename(s)).join(', ')}`];
  const objects = path.join(stores[0]!, 'objects');
  for (const rel of members) {
    const alt = path.join(top, rel, 'objects/info/alternates');
    if (!existsSync(alt) || readFileSync(alt, 'utf8').trim() !== objects) problems.push(`${rel} does not borrow from the objstore`);
  }
  if (hasObject(stores[0]!, net.secretBlob)) problems.push('the private blob is in the objstore');
  if (gitDir(stores[0]!, ['config', '--default', 'unset', 'extensions.preciousObjects']) !== 'true') problems.push('the objstore lost extensions.preciousObjects');
  const left = leftovers(top);
  const objstoreLeft = readdirSync(path.join(top, 'objstore')).filter((n) => n.startsWith('.') && !n.endsWith('.lock'));
  if (left.dirs.length + left.files.length + objstoreLeft.length > 0) problems.push(`left over: ${[...left.dirs, ...left.files, ...objstoreLeft].join(', ')}`);
  return problems;
}

t.test('grok-fsck killed with SIGKILL during objstore work loses nothing, and the rerun finishes the job', async (t) => {
  const random = rng(SEED);
  t.comment(`seed ${SEED} (replay with GROK_SEED=${SEED})`);
  const table = new CaseTable('crash-fsck', 'kill -9 of grok-fsck during objstore work, then a rerun');
  const base = tmpDir(t, 'grok-crash-fsck-');

  // Phase A: a fresh network, every repository with its own objects.
  const a = path.join(base, 'a');
  const net = makeForkNetwork(a, { forks: 3, commits: 4 });
  await runM(a, path.join(a, 'manifest.js.gz'));
  const rel = (r: string) => path.relative(net.top, r);
  const refsA = new Map(net.all.map((r) => [rel(r), refsOf(r)]));
  const familyA = net.all.filter((r) => r !== net.lone).map(rel);

  // Phase B: the network after a migration, then a fork deleted, one force-pushed, a new one. Made
  // afresh for every run: objstore remotes and alternates name absolute paths, so a copy of a
  // migrated tree would still point into the original.
  const prepareB = async (top: string) => {
    copyTree(a, top);
    const prep = await fsckRun(top, null);
    if (prep.code !== 0) throw new Error(`the first migration of ${top} failed: ${prep.stderr}`);
    rmSync(path.join(top, rel(net.doomed)), { recursive: true, force: true });
    gitDir(path.join(top, rel(net.forced)), ['update-ref', '-d', 'refs/heads/wip']);
    const late = path.join(top, 'pub/forks/late.git');
    git(['clone', '-q', '--bare', '--no-local', path.join(top, rel(net.upstream)), late]);
    pushCommit(late, { branch: 'late', date: 1_700_001_000 });
    await runM(top, path.join(top, 'manifest.js.gz'), { purge: true });
    return new Map(keptB.map((r) => [r, refsOf(path.join(top, r))]));
  };
  const keptB = net.all.filter((r) => r !== net.doomed).map(rel).concat('pub/forks/late.git');
  const familyB = keptB.filter((r) => r !== rel(net.lone));
  const prepareA = async (top: string) => {
    copyTree(a, top);
    return refsA;
  };

  const phases = [
    { name: 'first migration', prepare: prepareA, family: familyA, kills: 6 },
    { name: 'later run (a fork gone, one force-pushed, one new)', prepare: prepareB, family: familyB, kills: 4 },
  ];
  const notes: string[] = [`seed ${SEED}`, `fork network of ${net.all.length} repositories (a private fork, a fork of a fork, a two-root repository, an unrelated one)`];
  let total = 0;
  let lossless = 0;
  let finished = 0;
  let runs = 0;
  for (const phase of phases) {
    const ref = path.join(base, `ref-${phase.kills}`);
    await phase.prepare(ref);
    const full = await fsckRun(ref, null);
    t.equal(full.code, 0, `${phase.name}: an uninterrupted run succeeds`, { stderr: full.stderr });
    notes.push(`${phase.name}: uninterrupted run ${Math.round(full.ms)} ms; ${phase.kills} kill moments spread over it`);
    for (const [i, delay] of spreadMoments(random, phase.kills, full.ms).entries()) {
      const top = path.join(base, `run-${++runs}`);
      const refs = await phase.prepare(top);
      const r = await fsckRun(top, delay);
      total++;
      const afterKill = await nothingLost(top, refs);
      let again = await fsckRun(top, null);
      // A git killed with grok-fsck may leave its lock file; younger than a minute, it makes the work
      // wait for the next run (by design), which is let come here by ageing the lock.
      let deferred = 0;
      if (again.code === 0 && DEFERRED_RE.test(again.stderr)) {
        deferred = ageGitLeftovers(top);
        again = await fsckRun(top, null);
      }
      const afterRerun = again.code === 0 ? [...(await nothingLost(top, refs)), ...migrated(top, net, phase.family)] : [`the rerun exited ${again.code}: ${again.stderr.trim().split('\n').slice(-2).join(' / ')}`];
      if (afterKill.length === 0) lossless++;
      if (afterRerun.length === 0) finished++;
      const ok = afterKill.length === 0 && afterRerun.length === 0;
      const how = r.killed ? 'killed' : 'the run had finished before the kill';
      const rerun = deferred > 0 ? `rerun left work for the next run (${deferred} git lock files of the killed run); that one` : 'rerun';
      table.add(
        `${phase.name} #${i + 1}: kill at ${delay} ms`,
        'after the kill: refs resolve, git fsck clean, alternates name existing objstores, manifest parses; the rerun exits 0 and completes the objstore',
        ok ? `${how}; nothing lost; ${rerun} ${Math.round(again.ms)} ms: one objstore, ${phase.family.length} members borrowing` : `${how}; after the kill: ${afterKill.join('; ') || 'fine'}; after the ${rerun}: ${afterRerun.join('; ') || 'fine'}`,
        ok,
      );
      t.same(afterKill, [], `${phase.name} #${i + 1} (kill at ${delay} ms): nothing lost right after the kill`);
      t.same(afterRerun, [], `${phase.name} #${i + 1}: the rerun completes the work`);
      rmSync(top, { recursive: true, force: true });
    }
  }
  // On purpose: the objstore's config.lock as a git config killed mid-repack leaves it. The next run
  // is no failure (the objstore waits for the run after); once the lock is a minute old, it goes.
  const planted = path.join(base, 'planted');
  await prepareA(planted);
  const first = await fsckRun(planted, null);
  const store = objstoresIn(planted)[0]!;
  writeFileSync(path.join(store, 'config.lock'), '');
  const young = spawnKillable(BIN.fsck, ['-c', conf(planted), '--repack-all-full']);
  const youngCode = await young.ended;
  ageGitLeftovers(planted);
  const aged = await fsckRun(planted, null);
  const plantedProblems = [
    ...(first.code !== 0 ? [`the migration exited ${first.code}`] : []),
    ...(youngCode !== 0 ? [`with a young config.lock: exit ${youngCode}: ${young.stderr().trim().split('\n').slice(-2).join(' / ')}`] : []),
    ...(!/left for the next run/.test(young.stderr()) ? ['with a young config.lock: no word of leaving the objstore for the next run'] : []),
    ...(aged.code !== 0 ? [`once the lock was old: exit ${aged.code}`] : []),
    ...(existsSync(path.join(store, 'config.lock')) ? ['the old config.lock is still there'] : []),
    ...(await nothingLost(planted, refsA)),
    ...migrated(planted, net, familyA),
  ];
  table.add(
    "a fresh config.lock in the objstore (a killed git config's), then --repack-all-full, then a run once it is a minute old",
    "exit 0, the objstore 'left for the next run'; then the lock removed and everything in order",
    plantedProblems.length === 0 ? 'exit 0 and left for the next run; then removed, objstore repacked, nothing lost' : plantedProblems.join('; '),
    plantedProblems.length === 0,
  );
  t.same(plantedProblems, [], 'a young config.lock waits for the next run; an old one is removed');

  // On purpose: what a kill in the objstore's repack leaves (preciousObjects lifted), and kills in
  // writes of a member's fingerprint file, the status file, the manifest, a repository's roots cache
  // (atomicWrite's temp files); a run that needs no repack mends them all.
  gitDir(store, ['config', '--unset-all', 'extensions.preciousObjects']);
  const temps = [
    path.join(store, '.grokmirror.0123456789ab.fingerprint.0123456789ab.tmp'),
    path.join(planted, '.fsck.status.js.0123456789ab.tmp'),
    path.join(planted, '.manifest.js.gz.0123456789ab.tmp'),
    path.join(planted, rel(net.upstream), '.grokmirror.roots.0123456789ab.tmp'),
  ];
  for (const f of temps) writeFileSync(f, '0123');
  const mend = await fsckRun(planted, null);
  const mendProblems = [
    ...(mend.code !== 0 ? [`exit ${mend.code}`] : []),
    ...(!/preciousObjects was off/.test(mend.stderr) ? ['no word of preciousObjects being set again'] : []),
    ...temps.filter((f) => existsSync(f)).map((f) => `${path.basename(f)} is still there`),
    ...(await nothingLost(planted, refsA)),
    ...migrated(planted, net, familyA),
  ];
  table.add(
    'an objstore without preciousObjects, temp files of its fingerprint file, the status file, the manifest and a roots cache, then a run',
    'exit 0; preciousObjects set again (and logged), the temp files removed, nothing lost',
    mendProblems.length === 0 ? 'exit 0; preciousObjects back, temp files gone, nothing lost' : mendProblems.join('; '),
    mendProblems.length === 0,
  );
  t.same(mendProblems, [], 'preciousObjects is put back and the temp files removed');

  // On purpose: what a git killed while rewriting the objstore's packed-refs leaves (the lock and
  // packed-refs.new), a minute old. The next run deletes a ref there (a fork dropped a branch).
  writeFileSync(path.join(store, 'packed-refs.lock'), '');
  writeFileSync(path.join(store, 'packed-refs.new'), '');
  ageGitLeftovers(planted);
  const forced = path.join(planted, rel(net.forced));
  gitDir(forced, ['update-ref', '-d', 'refs/heads/wip']);
  const refsNow = new Map([...refsA.keys()].map((r) => [r, refsOf(path.join(planted, r))]));
  const packed = await fsckRun(planted, null);
  const wip = gitDir(store, ['for-each-ref', `refs/virtual/${virtrefFor(forced)}/heads/wip`]);
  const packedProblems = [
    ...(packed.code !== 0 ? [`exit ${packed.code}: ${packed.stderr.trim().split('\n').slice(-2).join(' / ')}`] : []),
    ...['packed-refs.lock', 'packed-refs.new'].filter((f) => existsSync(path.join(store, f))).map((f) => `${f} still there`),
    ...(wip !== '' ? ['the dropped branch is still in the objstore'] : []),
    ...(await nothingLost(planted, refsNow)),
    ...migrated(planted, net, familyA),
  ];
  table.add(
    'packed-refs.lock and packed-refs.new a minute old in the objstore (a killed git), then a run that deletes a ref there',
    'exit 0; both removed; the ref deleted; nothing lost',
    packedProblems.length === 0 ? 'exit 0; both removed, the dropped branch gone from the objstore, nothing lost' : packedProblems.join('; '),
    packedProblems.length === 0,
  );
  t.same(packedProblems, [], 'a stale packed-refs.new goes with its lock');

  const summary = `grok-fsck killed ${total} times during objstore work: ${lossless}/${total} lost nothing, ${finished}/${total} reruns completed the objstore`;
  t.comment(summary);
  const file = table.write([...notes, summary]);
  t.comment(`cases written to ${file}`);
});
