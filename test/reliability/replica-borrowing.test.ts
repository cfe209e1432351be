/**
 * Issue 23 item 11: nothing in a replica may borrow objects from outside its own toplevel (and its
 * objstore directory). `git clone` from a local path copies the source's alternates, so a replica
 * whose `[remote] site` is a path inherited the origin's objstore: its forks held no objects and broke
 * when the origin repacked, pruned or moved. New clones must not inherit, and a replica already in
 * that state is repaired by the next grok-pull pass or grok-fsck run (objects taken in first, then the
 * line dropped), or recloned when what it borrowed is already gone. Each case ends by moving the
 * origin's objstore away and running `git fsck` on every replica repository.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import type { Logger } from '../../shared/log.js';
import { isLocalSite } from '../../replica/execute/context.js';
import { foreignAlternates } from '../../shared/repo/foreign-alternates.js';
import { CaseTable } from '../helpers/case-table.js';
import { fsck, fsckConfig } from '../helpers/fsck.js';
import { fsckOk, git, gitDir, makeRepo, pushCommit } from '../helpers/git.js';
import { runM } from '../helpers/manifest.js';
import { pull, replicaConfig } from '../helpers/replica.js';
import { tmpDir } from '../helpers/tmp.js';

const table = new CaseTable('replica-borrowing', 'A replica borrows nothing from outside itself (issue 23 item 11)');
const REPOS = ['up.git', 'forks/one.git', 'forks/two.git'];

/** An origin whose forks borrow from its objstore (made by grok-fsck), with forkgroups in its manifest. */
async function originNetwork(dir: string): Promise<{ top: string; store: string }> {
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'up.git'), { commits: 5 });
  for (const n of ['one', 'two']) {
    git(['clone', '-q', '--bare', '--no-local', path.join(top, 'up.git'), path.join(top, `forks/${n}.git`)]);
    pushCommit(path.join(top, `forks/${n}.git`), { branch: `${n}-work` });
  }
  await runM(top, path.join(top, 'manifest.js.gz'));
  await fsck(fsckConfig(top));
  const store = readFileSync(path.join(top, 'forks/one.git/objects/info/alternates'), 'utf8').trim();
  return { top, store: path.dirname(store) };
}

/** Every replica repository: alternates lines leaving the replica, and git fsck once the origin's objstore is gone. */
function verdict(mirror: string, originStore: string): { outside: string[]; broken: string[] } {
  const outside = REPOS.flatMap((r) => foreignAlternates(path.join(mirror, r), [mirror]).map((l) => `${r} -> ${l}`));
  renameSync(originStore, `${originStore}.moved`);
  try {
    return { outside, broken: REPOS.filter((r) => !fsckOk(path.join(mirror, r)).ok) };
  } finally {
    renameSync(`${originStore}.moved`, originStore);
  }
}

function record(t: Test, name: string, v: { outside: string[]; broken: string[] }): void {
  const ok = v.outside.length === 0 && v.broken.length === 0;
  table.add(name, 'no alternates line leaves the replica; git fsck clean with the origin objstore moved away', ok ? 'self-contained' : `outside: ${v.outside.join(', ') || 'none'}; broken: ${v.broken.join(', ') || 'none'}`, ok);
  t.same(v, { outside: [], broken: [] }, name);
}

// One origin for every case (each has its own mirror); a case that moves its objstore puts it back.
let shared: Promise<{ top: string; store: string }> | null = null;
const network = () => (shared ??= originNetwork(tmpDir(t)));

t.test('which [remote] site values are local (a pass then reads every repository\'s alternates)', async (t) => {
  const rows: [string, boolean][] = [
    ['/srv/git', true],
    ['/srv/with:colon', true],
    ['file:///srv/git', true],
    ['FILE:///srv/git', true],
    ['relative/dir', true],
    ['https://git.example.org', false],
    ['http://127.0.0.1:8080/', false],
    ['ssh://git@host/srv', false],
    ['git@host:srv/git', false],
    ['git://host/srv', false],
    ['', false],
  ];
  for (const [site, local] of rows) t.equal(isLocalSite(site), local, JSON.stringify(site));
});

const siteForms = [
  ['a local path', (top: string) => top],
  ['a file:// URL', (top: string) => `file://${top}`],
] as const;

for (const [form, site] of siteForms) {
  t.test(`[remote] site as ${form}: a first pass clones without inheriting the origin's alternates`, async (t) => {
    const dir = tmpDir(t);
    const { top, store } = await network();
    const mirror = path.join(dir, 'mirror');
    const r = await pull(replicaConfig(mirror, site(top), '', `file://${top}/manifest.js.gz`));
    t.same(r.failed, []);
    t.equal(r.cloned.length, 3);
    record(t, `first pass, site ${form}`, verdict(mirror, store));
  });
}

/**
 * A replica as the old code left it: each repository borrowing from the origin's objstore (its line
 * after the replica's own, if any) and holding nothing that is there.
 */
async function inheritedState(t: Test, dir: string) {
  const { top, store } = await network();
  const mirror = path.join(dir, 'mirror');
  const config = replicaConfig(mirror, top, '', `file://${top}/manifest.js.gz`);
  t.same((await pull(config)).failed, []);
  // up.git and two.git borrow straight from the origin's objstore; one.git from the replica's too.
  for (const r of REPOS) {
    const alt = path.join(mirror, r, 'objects/info/alternates');
    const own = r === 'forks/one.git' && existsSync(alt) ? readFileSync(alt, 'utf8') : '';
    writeFileSync(alt, `${own}${path.join(store, 'objects')}\n`);
    gitDir(path.join(mirror, r), ['repack', '-q', '-a', '-d', '-l']);
  }
  const before = verdict(mirror, store);
  t.ok(before.outside.length === 3 && before.broken.length > 0, `the starting state borrows from the origin: ${JSON.stringify(before)}`);
  return { top, store, mirror, config };
}

t.test('a replica that inherited the origin\'s alternates is repaired by the next grok-pull pass', async (t) => {
  const dir = tmpDir(t);
  const { top, store, mirror, config } = await inheritedState(t, dir);
  // The next pass that reads a changed manifest looks at every repository (a site that is a path:
  // the quick look reads alternates too), not only the one that changed.
  pushCommit(path.join(top, 'up.git'), { branch: 'next' });
  await runM(top, path.join(top, 'manifest.js.gz'), { paths: [path.join(top, 'up.git')] });
  const r = await pull(config);
  t.same([r.failed, r.updated], [[], ['/up.git']]);
  record(t, 'grok-pull pass after a push to another repository', verdict(mirror, store));
  const again = await pull(config, { force: true });
  t.same([again.failed, again.cloned, again.updated], [[], [], []], 'a second pass has nothing to do');
});

t.test('... and by grok-fsck', async (t) => {
  const dir = tmpDir(t);
  const { store, mirror, config } = await inheritedState(t, dir);
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push((JSON.parse(l) as { msg: string }).msg) }) as Logger;
  const res = await fsck(config, {}, { log });
  t.same(res.errors, []);
  t.ok(lines.some((l) => l.includes('took in the objects it borrowed from')), lines.join('\n'));
  record(t, 'grok-fsck run on the replica', verdict(mirror, store));
});

t.test('... and recloned by grok-pull when what it borrowed is gone already', async (t) => {
  const dir = tmpDir(t);
  const { top, store, mirror, config } = await inheritedState(t, dir);
  // The origin's objstore moves: the replica's repositories lack objects now; the origin itself is
  // whole again once its forks borrow from the new place.
  const moved = `${store}.new`;
  renameSync(store, moved);
  const pointAt = (s: string) => {
    for (const o of REPOS) writeFileSync(path.join(top, o, 'objects/info/alternates'), `${path.join(s, 'objects')}\n`);
  };
  pointAt(moved);
  const r = await pull(config, { force: true });
  t.same(r.failed, []);
  renameSync(moved, store);
  pointAt(store);
  record(t, 'grok-pull pass after the origin moved its objstore', verdict(mirror, store));
});

t.test('on an origin, grok-fsck warns about alternates leaving the toplevel, and a served repository takes its objects back', async (t) => {
  const dir = tmpDir(t);
  const lender = path.join(dir, 'elsewhere/lender.git');
  makeRepo(lender, { commits: 3 });
  const top = path.join(dir, 'origin');
  git(['clone', '-q', '--bare', '--shared', lender, path.join(top, 'borrower.git')]);
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push((JSON.parse(l) as { msg: string }).msg) }) as Logger;
  await fsck(fsckConfig(top), {}, { log });
  const warned = lines.some((l) => l.includes('borrower.git borrows objects from') && l.includes(lender));
  const borrower = path.join(top, 'borrower.git');
  const free = foreignAlternates(borrower, [top]).length === 0 && !existsSync(path.join(borrower, 'objects/info/alternates'));
  // The lender may go: the borrower holds its history.
  rmSync(lender, { recursive: true, force: true });
  const sound = fsckOk(borrower).ok;
  table.add('origin: a repository borrowing from outside the toplevel', 'a warning; it takes back what it borrowed (its lender may hold unpublished objects) and stays whole', `${warned ? 'warned' : 'no warning'}; ${free ? 'no longer borrows' : 'still borrows'}; ${sound ? 'git fsck clean without the lender' : 'broken without the lender'}`, warned && free && sound);
  t.ok(warned, lines.join('\n'));
  t.ok(free, 'no alternates left');
  t.ok(sound, 'git fsck clean once the lender is gone');
});

t.teardown(() => {
  table.write();
});
