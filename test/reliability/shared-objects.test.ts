/**
 * Issue 16 item 3, shared object directories: a repository whose objects/ is a symlink to another's
 * (or two repositories linking to one directory) shares every object with it. Nothing may remove what
 * one of them reaches because another does not: grok-fsck's repacks (-f, --repack-all-full), its
 * prune and objstore joins, grok-pull's purge. Both grok-manifest and grok-fsck say what they found.
 * Objects only the linked repository reaches are put in a pack (what `repack -a -d` drops) and, for
 * the prune, also left loose with an old mtime (what `prune --expire=yesterday` removes).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { runManifest } from '../../origin/manifest/run.js';
import { Git } from '../../shared/git/index.js';
import type { Logger } from '../../shared/log.js';
import { discoverRepos } from '../../shared/repo/discover.js';
import { CaseTable } from '../helpers/case-table.js';
import { fsck, fsckConfig } from '../helpers/fsck.js';
import { fsckOk, git, gitDir, makeRepo, pushCommit } from '../helpers/git.js';
import { manifestOptions, NOW_MS } from '../helpers/manifest.js';
import { pull, replicaConfig } from '../helpers/replica.js';
import { tmpDir } from '../helpers/tmp.js';

const table = new CaseTable('shared-objects', 'Shared object directories (issue 16 item 3)');

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: pino({ level: 'warn' }, { write: (l: string) => void lines.push((JSON.parse(l) as { msg: string }).msg) }) as Logger, lines };
}

/**
 * `linker` gets objects/ as a symlink to `objdir`, the refs of `from` and a branch of its own whose
 * objects no other repository reaches; `old` backdates those objects' loose copies by two days.
 */
function linkRepo(linker: string, objdir: string, from: string, opts: { relative?: boolean } = {}): string {
  mkdirSync(linker, { recursive: true });
  git(['init', '-q', '--bare', linker]);
  rmSync(path.join(linker, 'objects'), { recursive: true, force: true });
  symlinkSync(opts.relative ? path.relative(linker, objdir) : objdir, path.join(linker, 'objects'));
  for (const line of gitDir(from, ['for-each-ref', '--format=%(objectname) %(refname)']).split('\n').filter(Boolean)) {
    const [sha, ref] = line.split(' ');
    gitDir(linker, ['update-ref', ref!, sha!]);
  }
  // git's local clone cannot copy a symlinked objects/: through the transport instead.
  const work = `${linker}.work`;
  git(['clone', '-q', '--no-local', linker, work]);
  writeFileSync(path.join(work, 'own.txt'), `only in ${linker}\n`);
  git(['add', 'own.txt'], { cwd: work });
  git(['commit', '-q', '-m', `only in ${path.basename(linker)}`], { cwd: work });
  git(['push', '-q', 'origin', `HEAD:refs/heads/only-${path.basename(linker, '.git')}`], { cwd: work });
  const tip = git(['rev-parse', 'HEAD'], { cwd: work });
  rmSync(work, { recursive: true, force: true });
  return tip;
}

/** Packs everything reachable from `repo` (so a repack that ignores it drops it), keeps loose copies, backdated. */
function packAndAge(repo: string, objdir: string): void {
  gitDir(repo, ['repack', '-q', '-a', '-k']);
  const old = Date.now() / 1000 - 3 * 86400;
  for (const d of readdirSync(objdir)) {
    if (!/^[0-9a-f]{2}$/.test(d)) continue;
    for (const f of readdirSync(path.join(objdir, d))) utimesSync(path.join(objdir, d, f), old, old);
  }
}

/** 20 packs of one object each: count-objects then says a full repack is due (repack-level.ts). */
function manyPacks(repo: string): void {
  const oids = gitDir(repo, ['rev-list', '--objects', '--all']).split('\n').map((l) => l.slice(0, 40)).slice(0, 20);
  for (const oid of oids) git([`--git-dir=${repo}`, 'pack-objects', '-q', path.join(repo, 'objects', 'pack', 'pack')], { input: `${oid}\n` });
}

function intact(t: Test, name: string, repo: string, tip: string): boolean {
  let has = false;
  try {
    has = gitDir(repo, ['rev-parse', '--verify', '-q', `${tip}^{commit}`]) === tip;
  } catch {
    has = false;
  }
  const f = fsckOk(repo);
  const ok = has && f.ok;
  table.add(name, 'its own branch still there, git fsck clean', ok ? 'intact' : `tip ${has ? 'present' : 'missing'}; ${f.output.trim().split('\n').slice(0, 2).join(' / ')}`, ok);
  t.ok(ok, `${name}: ${f.output.trim().slice(0, 300)}`);
  return ok;
}

for (const [mode, relative] of [['force', false], ['force', true], ['repack-all-full', false]] as const) {
  t.test(`B's objects/ -> A/objects (${relative ? 'relative' : 'absolute'} link): grok-fsck --${mode} keeps B's history`, async (t) => {
    const dir = tmpDir(t);
    const top = path.join(dir, 'top');
    const a = path.join(top, 'a.git');
    makeRepo(a, { commits: 7 });
    const b = path.join(top, 'b.git');
    const tip = linkRepo(b, path.join(a, 'objects'), a, { relative });
    packAndAge(b, path.join(a, 'objects'));
    // -f repacks what count-objects says is due: A is made due.
    manyPacks(a);
    const res = await fsck(fsckConfig(top), mode === 'force' ? { force: true } : { repackAll: 'full' });
    t.same(res.errors, [], 'no errors');
    intact(t, `${mode}, ${relative ? 'relative' : 'absolute'} link: B`, b, tip);
    t.ok(fsckOk(a).ok, 'A is fine too');
    t.ok(res.repacked.includes('/a.git'), 'A was still repacked (keeping everything)');
  });
}

t.test('two repositories linking to one directory outside any repository: both keep their history, and grok-fsck says so', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  const seed = path.join(top, 'seed.git');
  makeRepo(seed, { commits: 2 });
  const shared = path.join(top, 'shared', 'objects');
  mkdirSync(path.dirname(shared), { recursive: true });
  execFileSync('cp', ['-a', path.join(seed, 'objects'), shared]);
  const c = path.join(top, 'users/c.git');
  const d = path.join(top, 'users/d.git');
  const tipC = linkRepo(c, shared, seed);
  const tipD = linkRepo(d, shared, seed);
  packAndAge(c, shared);
  const { log, lines } = capture();
  const res = await fsck(fsckConfig(top), { repackAll: 'full' }, { log });
  t.same(res.errors, []);
  intact(t, 'two links to one plain directory: C', c, tipC);
  intact(t, 'two links to one plain directory: D', d, tipD);
  const said = lines.some((l) => l.includes(shared) && l.includes(c) && l.includes(d) && /shared/.test(l));
  table.add('grok-fsck names a shared directory and its repositories', 'a warning naming both and the directory', said ? 'warned' : `no such line in ${JSON.stringify(lines)}`, said);
  t.ok(said, lines.join('\n'));
});

t.test('a fork network: a repository linking to a fork\'s objects keeps its history through joins, objstore prunes and repacks', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  const up = path.join(top, 'up.git');
  makeRepo(up, { commits: 4 });
  const forks = ['one', 'two'].map((n) => path.join(top, `forks/${n}.git`));
  for (const f of forks) {
    mkdirSync(path.dirname(f), { recursive: true });
    git(['clone', '-q', '--bare', '--no-local', up, f]);
    pushCommit(f, { branch: `${path.basename(f, '.git')}-work` });
  }
  // Before: the network in one objstore, every fork slimmed against it.
  const first = await fsck(fsckConfig(top), { force: true });
  t.same(first.errors, []);
  // Then a repository appears whose objects/ is fork one's: it borrows what fork one borrows.
  const linked = path.join(top, 'linked.git');
  const tip = linkRepo(linked, path.join(forks[0]!, 'objects'), forks[0]!);
  packAndAge(linked, path.join(forks[0]!, 'objects'));
  // And a second one that is new altogether: it links to fork two's objects before any objstore work.
  const fresh = path.join(top, 'fresh.git');
  const tip2 = linkRepo(fresh, path.join(forks[1]!, 'objects'), forks[1]!);
  for (const opts of [{ force: true }, { repackAll: 'full' as const }]) {
    const res = await fsck(fsckConfig(top), opts);
    t.same(res.errors, [], JSON.stringify(opts));
  }
  intact(t, 'linked to an objstore member: after joins, prunes and full repacks', linked, tip);
  intact(t, 'linked to a member, new: after joins, prunes and full repacks', fresh, tip2);
  for (const r of [up, ...forks]) t.ok(fsckOk(r).ok, `${r}: git fsck`);
});

t.test('grok-manifest lists a repository with a symlinked objects/ (as grokmirror does) and warns', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  const a = path.join(top, 'a.git');
  makeRepo(a, { commits: 2 });
  const b = path.join(top, 'b.git');
  linkRepo(b, path.join(a, 'objects'), a);
  const { log, lines } = capture();
  const file = path.join(top, 'manifest.js.gz');
  await runManifest(manifestOptions(top, file), { git: new Git(), log, now: () => NOW_MS });
  const found = (await discoverRepos(top)).repos.map((r) => r.key);
  const listed = found.includes('/b.git');
  table.add('grok-manifest walk', 'B listed, a warning naming A, B and the directory', `${listed ? 'listed' : 'not listed'}; ${lines.length} warning(s)`, listed && lines.some((l) => l.includes(a) && l.includes(b)));
  t.ok(listed, `discovery finds B: ${found.join(', ')}`);
  t.ok(lines.some((l) => l.includes(a) && l.includes(b) && l.includes('one object directory')), lines.join('\n'));
});

t.test('grok-pull never purges the repository whose objects/ another links to', async (t) => {
  const dir = tmpDir(t);
  const mirror = path.join(dir, 'mirror');
  const a = path.join(mirror, 'a.git');
  makeRepo(a, { commits: 2 });
  const b = path.join(mirror, 'b.git');
  const tip = linkRepo(b, path.join(a, 'objects'), a);
  packAndAge(b, path.join(a, 'objects'));
  const fp = (r: string) => gitDir(r, ['for-each-ref', '--format=%(objectname) %(refname)']);
  const entry = (r: string) => ({ modified: 1_700_000_000, fingerprint: createHash('sha1').update(`${fp(r)}\n`).digest('hex'), head: 'ref: refs/heads/master', reference: null });
  // The local manifest holds both; the origin now lists only B.
  writeFileSync(path.join(mirror, 'manifest.js.gz'), gzipSync(JSON.stringify({ '/a.git': entry(a), '/b.git': entry(b) })));
  const remote = path.join(dir, 'remote.js');
  writeFileSync(remote, JSON.stringify({ '/b.git': entry(b) }));
  for (const r of [a, b]) writeFileSync(path.join(r, 'grokmirror.fingerprint'), entry(r).fingerprint);
  const res = await pull(replicaConfig(mirror, dir, '', `file://${remote}`), { purge: true, forcePurge: true, force: true });
  t.same(res.failed, []);
  t.equal(res.status, 'done', 'the pass read the manifest and planned');
  const kept = !res.purged.includes('/a.git');
  table.add('grok-pull -p --force-purge with A gone from the manifest', 'A kept (B lives on its objects)', kept ? 'kept' : 'purged', kept);
  t.ok(kept, `purged: ${res.purged.join(', ')}`);
  intact(t, 'B after the purge pass', b, tip);
});

t.teardown(() => {
  table.write();
});
