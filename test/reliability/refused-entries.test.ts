/**
 * Issue 16 item 1: a refused entry is held back. When a replica refuses the entry of a repository it
 * mirrors (a hostile head, a value of the wrong type, an unsafe symlink, an oversized value, a
 * symlink that clashes with other keys), that repository's mirror, its local-manifest entry and its
 * objstore membership stay as they are, it is never purged, and the pass exits 1 naming it; a
 * repository that really left is still purged beside it. The same for entries from feed events
 * (targeted passes, grok-pull -o). The issue's own example, a description holding an ANSI escape,
 * is data since item 2: it is mirrored as given.
 *
 * Runs the real grok-pull (purge = yes) against a hostile site that serves the manifest each case
 * sets and relays git to a real grok-origin (helpers/hostile-site.ts).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { loadConfig } from '../../shared/config/config.js';
import { Git } from '../../shared/git/index.js';
import { silentLogger } from '../../shared/log.js';
import type { ManifestEntry } from '../../shared/manifest/entry.js';
import { OBJSTORE_MARKER } from '../../shared/repo/bare.js';
import type { RepoDone } from '../../replica/events.js';
import { pullTargets } from '../../replica/targeted.js';
import { CaseTable } from '../helpers/case-table.js';
import { runBin } from '../helpers/cli.js';
import { BIN } from '../helpers/fixture.js';
import { fsckOk, git, gitDir, makeRepo, pushCommit } from '../helpers/git.js';
import { startHostileSite } from '../helpers/hostile-site.js';
import { readM } from '../helpers/manifest.js';
import { startTestOrigin } from '../helpers/origin.js';
import { tmpDir } from '../helpers/tmp.js';

const refsOf = (repo: string) => gitDir(repo, ['for-each-ref', '--format=%(objectname) %(refname)']);
const readOr = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '(missing)');
const table = new CaseTable('refused-entries', 'Refused entries are held back: mirror, local entry and objstore membership kept, never purged, exit 1');

t.test('a refused entry is held back, never purged', async (t) => {
  const dir = tmpDir(t, 'grok-refused-');
  const top = path.join(dir, 'origin');
  const victimSrc = path.join(top, 'victim.git');
  makeRepo(victimSrc, { commits: 3 });
  git(['clone', '-q', '--bare', victimSrc, path.join(top, 'sib.git')]);
  pushCommit(path.join(top, 'sib.git'), { branch: 'sib-work' });
  makeRepo(path.join(top, 'other.git'), { commits: 2, date: 1_650_000_000 });
  makeRepo(path.join(top, 'gone.git'), { commits: 1, date: 1_660_000_000 });
  makeRepo(path.join(top, 'd/x.git'), { commits: 1, date: 1_670_000_000 });
  const origin = await startTestOrigin(t, top);
  const real = await readM(path.join(top, 'manifest.js.gz'));
  const site = await startHostileSite(t, origin.url, new Set(Object.keys(real)), '/victim.git');
  // victim and sib share a forkgroup: the replica makes an objstore for them.
  const base: Record<string, ManifestEntry> = { ...real, '/victim.git': { ...real['/victim.git']!, forkgroup: 'fg' }, '/sib.git': { ...real['/sib.git']!, forkgroup: 'fg' } };
  const good = base['/victim.git']!;

  const mirror = path.join(dir, 'mirror');
  const pwned = path.join(dir, 'pwned');
  const conf = path.join(dir, 'replica.conf');
  writeFileSync(
    conf,
    `[core]\ntoplevel = ${mirror}\nmanifest = ${path.join(mirror, 'manifest.js.gz')}\nobjstore = ${path.join(mirror, 'objstore')}\n` +
      `[remote]\nsite = ${site.url}\nmanifest = ${site.url}/manifest.js\n` +
      `[pull]\nprojectslist = ${path.join(mirror, 'projects.list')}\npull_threads = 2\nretries = 1\npurge = yes\npurgeprotect = 50\n`,
  );
  const serve = (doc: Record<string, unknown>) => site.serve({ body: Buffer.from(JSON.stringify(doc)) });
  const pullNow = () => runBin(BIN.pull, ['-c', conf, '-n']);

  serve(base);
  const first = await pullNow();
  t.equal(first.code, 0, `the first pass mirrors everything: ${first.stderr}`);
  const victim = path.join(mirror, 'victim.git');
  const objstore = path.join(mirror, 'objstore', 'fg.git');
  const state = async () => ({
    refs: existsSync(victim) ? refsOf(victim) : '(gone)',
    entry: JSON.stringify((await readM(path.join(mirror, 'manifest.js.gz')))['/victim.git'] ?? null),
    alternates: readOr(path.join(victim, 'objects/info/alternates')),
    members: readOr(path.join(objstore, OBJSTORE_MARKER)),
    listed: readOr(path.join(mirror, 'projects.list')).split('\n').includes('victim.git'),
  });
  const before = await state();
  t.ok(before.alternates.includes('fg.git'), `the victim borrows from its objstore: ${before.alternates}`);
  t.ok(before.members.includes('victim.git'), 'and is one of its members');
  t.ok(before.listed, 'and is in projects.list');

  const withoutGone: Record<string, unknown> = Object.fromEntries(Object.entries(base).filter(([k]) => k !== '/gone.git'));
  const g = good as unknown as Record<string, unknown>;
  interface RefusalCase {
    readonly name: string;
    /** The victim's entry as served (undefined: left out of the manifest). */
    readonly entry: unknown;
    readonly extra?: Record<string, unknown>;
  }
  const cases: RefusalCase[] = [
    { name: 'hostile head (--upload-pack=...)', entry: { ...g, head: `--upload-pack=touch ${pwned}` } },
    { name: 'head naming a ref with ".."', entry: { ...g, head: 'ref: refs/heads/../../x' } },
    { name: 'wrong type: fingerprint as an object', entry: { ...g, fingerprint: { sha: good.fingerprint } } },
    { name: 'wrong type: owner as an array', entry: { ...g, owner: ['x'] } },
    { name: 'wrong type: modified as a string', entry: { ...g, modified: 'yesterday' } },
    { name: 'wrong type: the entry is null', entry: null },
    { name: 'forkgroup "../x"', entry: { ...g, forkgroup: '../x' } },
    { name: 'unsafe symlink (text): "/../outside.git"', entry: { ...g, symlinks: ['/../outside.git'] } },
    { name: 'unsafe symlink (on this disk): naming the local manifest', entry: { ...g, symlinks: ['/manifest.js.gz'] } },
    { name: 'symlink over other keys: "/d" while /d/x.git is listed', entry: { ...g, symlinks: ['/d'] } },
    { name: 'symlink naming another repository: "/other.git"', entry: { ...g, symlinks: ['/other.git'] } },
    { name: 'oversized description (64 KiB + 1 byte)', entry: { ...g, description: 'd'.repeat(64 * 1024 + 1) } },
    { name: 'oversized unknown key (more than 64 KiB of JSON)', entry: { ...g, future: 'f'.repeat(64 * 1024) } },
    { name: 'unknown key nested 33 levels deep', entry: { ...g, future: JSON.parse(`${'{"a":'.repeat(33)}1${'}'.repeat(33)}`) as unknown } },
    { name: 'owner holding a NUL (no git config value can)', entry: { ...g, owner: 'a\u0000b' } },
  ];
  for (const [i, c] of cases.entries()) {
    await t.test(c.name, async (t) => {
      serve({ ...withoutGone, '/victim.git': c.entry });
      const r = await pullNow();
      const problems: string[] = [];
      if (r.code !== 1) problems.push(`exit ${r.code}`);
      const line = r.stderr.split('\n').find((l) => l.includes('refusing "/victim.git"'));
      if (!line) problems.push(`no refusal naming /victim.git: ${r.stderr.slice(0, 400)}`);
      if (!/1 failed/.test(r.stderr)) problems.push('the summary does not count it as failed');
      const now = await state();
      for (const k of ['refs', 'entry', 'alternates', 'members', 'listed'] as const) if (now[k] !== before[k]) problems.push(`${k} changed: ${String(now[k]).slice(0, 200)}`);
      if (!fsckOk(victim).ok) problems.push('git fsck of the victim failed');
      if (existsSync(pwned)) problems.push('a hostile value ran a command');
      if (i === 0 && existsSync(path.join(mirror, 'gone.git'))) problems.push('/gone.git, which left the manifest, was not purged beside the refusal');
      t.same(problems, [], c.name);
      table.add(c.name, 'held back: mirror, local entry, objstore membership, projects.list line kept; exit 1 naming it', `exit ${r.code}; ${(line ?? '').replace(/^grok-pull: /, '').replace(site.url, '<site>').slice(0, 300)}`, problems.length === 0);
    });
  }

  await t.test('feed events (targeted passes, grok-pull -o) hold back a refused entry too', async (t) => {
    const config = loadConfig(conf);
    const done: RepoDone[] = [];
    const items = [
      { key: '/victim.git', entry: { ...good, head: `--upload-pack=touch ${pwned}` } },
      { key: '/other.git', entry: { ...real['/other.git']!, symlinks: ['/manifest.js.gz'] } },
      { key: '/sib.git', entry: { ...base['/sib.git']!, symlinks: ['/d'] } },
    ];
    const res = await pullTargets(config, items, { git: new Git(), log: silentLogger(), events: { onRepoDone: (d) => done.push(d) } });
    const problems: string[] = [];
    const failed = res.failed.map((f) => f.key).sort();
    if (JSON.stringify(failed) !== JSON.stringify(['/other.git', '/sib.git', '/victim.git'])) problems.push(`failed: ${JSON.stringify(res.failed)}`);
    if (done.filter((d) => d.result === 'failed').length !== 3) problems.push(`onRepoDone reported ${JSON.stringify(done)}`);
    if (res.ignored.length > 0) problems.push(`silently ignored: ${JSON.stringify(res.ignored)}`);
    const now = await state();
    for (const k of ['refs', 'entry', 'alternates', 'members'] as const) if (now[k] !== before[k]) problems.push(`${k} changed`);
    if (existsSync(path.join(mirror, 'd')) && !existsSync(path.join(mirror, 'd/x.git/HEAD'))) problems.push('/d changed');
    t.same(problems, [], 'each refused entry is reported failed (the status page lists it), nothing is touched');
    table.add('feed events: hostile head, symlink naming the local manifest, symlink over other keys', 'each held back and reported as a failed repository', `failed: ${failed.join(', ')}; ${res.failed.map((f) => f.error).join('; ').slice(0, 300)}`, problems.length === 0);
  });

  await t.test("the issue's example, a description holding an ANSI escape, is data: mirrored as given", async (t) => {
    const description = 'x \u001b[31my\u001b[0m';
    serve({ ...withoutGone, '/victim.git': { ...good, description } });
    const r = await pullNow();
    t.equal(r.code, 0, r.stderr);
    t.equal(readFileSync(path.join(victim, 'description'), 'utf8'), description, 'the description file holds it');
    t.equal(refsOf(victim), before.refs, 'the mirror is kept');
    t.notOk(r.stderr.includes('\u001b'), 'no raw escape on stderr');
    table.add('description holding an ANSI escape (the issue example)', 'accepted (item 2): mirrored, description stored as given', `exit ${r.code}; description file holds ${JSON.stringify(description)}`, r.code === 0);
  });

  await t.test('a repository that really left is purged (held back means refused, not gone)', async (t) => {
    serve(Object.fromEntries(Object.entries(withoutGone).filter(([k]) => k !== '/victim.git')));
    const r = await pullNow();
    t.equal(r.code, 0, r.stderr);
    t.notOk(existsSync(victim), 'purged');
    for (const k of ['/sib.git', '/other.git', '/d/x.git']) t.ok(fsckOk(path.join(mirror, k)).ok, `git fsck ${k}`);
  });
});

t.test('the record', async (t) => {
  t.comment(table.write());
  t.equal(table.passed, table.rows.length, `${table.passed} of ${table.rows.length} as expected`);
});
