import t from 'tap';
import { buildEntry, removeEntries, resolveSymlinkReferences } from '../../origin/manifest/entry-builder.js';
import { needsWalk, planManifest, type GivenPath } from '../../origin/manifest/plan.js';
import { sameEntry, type Manifest, type ManifestEntry } from '../../shared/manifest/entry.js';
import type { Discovery } from '../../shared/repo/discover.js';
import type { RepoFacts } from '../../shared/repo/inspect.js';

const FP = 'f'.repeat(40);
const e = (over: Partial<ManifestEntry> = {}): ManifestEntry => ({ modified: 1, fingerprint: FP, head: 'ref: refs/heads/main', reference: null, ...over });
const repo = (key: string, exportOk = true) => ({ key, path: `/top${key}`, exportOk });
const given = (key: string, exportOk = true): GivenPath => ({ kind: 'repo', ...repo(key, exportOk) });
const walk = (keys: string[], links: [string, string][] = []): Discovery => ({
  repos: keys.map((k) => repo(k)),
  symlinks: links.map(([l, tk]) => ({ path: `/top${l}`, key: l, target: `/top${tk}`, targetKey: tk })),
  warnings: [],
  orphanLocks: [],
});
const opts = { remove: false, purge: false, checkExportOk: false };

t.test('when a full walk is needed', async (t) => {
  const full: Manifest = new Map([['/a.git', e()]]);
  const rows: [Manifest, GivenPath[], typeof opts, boolean][] = [
    [full, [], opts, true],
    [full, [given('/a.git')], opts, false],
    [full, [given('/a.git')], { ...opts, purge: true }, true],
    [new Map(), [given('/a.git')], opts, true],
    [new Map(), [given('/a.git')], { ...opts, remove: true }, false],
  ];
  for (const [m, g, o, want] of rows) t.equal(needsWalk(m, g, o), want, JSON.stringify([m.size, g.length, o]));
});

t.test('planManifest decisions', async (t) => {
  const existing: Manifest = new Map([['/a.git', e()], ['/gone.git', e()], ['/b.git', e()]]);
  let p = planManifest(existing, [], walk(['/a.git', '/b.git', '/new.git'], [['/alias.git', '/a.git']]), opts);
  t.same(p.inspect.map((x) => x.key), ['/a.git', '/b.git', '/new.git']);
  t.same([...p.remove], [['/gone.git', 'repository is gone']]);
  t.same([...p.walkSymlinks!], [['/a.git', ['/alias.git']]]);

  p = planManifest(existing, [given('/b.git')], null, opts);
  t.same(p.inspect.map((x) => x.key), ['/b.git'], 'path mode inspects only the paths');
  t.same([...p.remove], []);
  t.equal(p.walkSymlinks, null);

  p = planManifest(existing, [given('/b.git'), { kind: 'symlink', key: '/bee.git', target: repo('/b.git') }], null, opts);
  t.same(p.inspect.map((x) => x.key), ['/b.git'], 'a symlink inspects its target once');
  t.same([...p.givenSymlinks], [['/b.git', ['/bee.git']]]);

  p = planManifest(new Map(), [given('/b.git')], walk(['/a.git', '/b.git']), opts);
  t.same(p.inspect.map((x) => x.key), ['/a.git', '/b.git'], 'empty manifest: the whole walk, not just the paths');

  p = planManifest(existing, [given('/a.git'), given('/x.git')], null, { ...opts, remove: true });
  t.same([...p.remove.keys()], ['/a.git', '/x.git']);
  t.same(p.inspect, []);

  p = planManifest(existing, [], { repos: [repo('/a.git', false), repo('/b.git')], symlinks: [], warnings: [], orphanLocks: [] }, { ...opts, checkExportOk: true });
  t.same(p.inspect.map((x) => x.key), ['/b.git']);
  t.same([...p.remove.keys()].sort(), ['/a.git', '/gone.git'], 'unexported repos leave the manifest');
});

const facts = (over: Partial<RepoFacts> = {}): RepoFacts => ({
  path: '/top/r.git',
  refs: { fingerprint: FP, newest: 1000, refCount: 1 },
  head: 'ref: refs/heads/main',
  description: null,
  owner: null,
  alternate: null,
  archived: false,
  ...over,
});
const ctx = { toplevel: '/top', key: '/r.git', useNow: false, now: 5000, symlinks: [] as string[] };

t.test('buildEntry fields', async (t) => {
  t.same(buildEntry(facts(), ctx).entry, { modified: 1000, fingerprint: FP, head: 'ref: refs/heads/main', reference: null });
  t.equal(buildEntry(facts({ refs: { fingerprint: FP, newest: null, refCount: 1 } }), ctx).entry.modified, 5000, 'no commit date: now');
  t.equal(buildEntry(facts(), { ...ctx, useNow: true }).entry.modified, 5000);
  t.match(buildEntry(facts({ owner: 'o', description: 'd' }), { ...ctx, symlinks: ['/z.git', '/a.git'] }).entry, { owner: 'o', description: 'd', symlinks: ['/a.git', '/z.git'] });
  const old = e({ owner: 'gone', description: 'gone', forkgroup: 'gone', archived: true });
  const rebuilt = buildEntry(facts(), { ...ctx, old }).entry;
  t.notOk('owner' in rebuilt || 'description' in rebuilt || 'forkgroup' in rebuilt || 'archived' in rebuilt, 'nothing merged from the old entry');
  t.equal(buildEntry(facts({ archived: true }), ctx).entry.archived, true, 'the marker file makes the entry archived');
});

t.test('buildEntry reference rules', async (t) => {
  const plainAlt = { repo: '/top/up.git', objstoreMembers: null };
  t.equal(buildEntry(facts({ alternate: plainAlt }), ctx).entry.reference, '/up.git');
  const outside = buildEntry(facts({ alternate: { repo: '/elsewhere/up.git', objstoreMembers: null } }), ctx);
  t.equal(outside.entry.reference, null);
  t.match(outside.notes[0], /outside the toplevel/);
  const obj = { repo: '/top/objstore/abc.git', objstoreMembers: ['/top/a.git', '/top/r.git'] };
  t.match(buildEntry(facts({ alternate: obj }), ctx).entry, { forkgroup: 'abc', reference: '/a.git' });
  t.match(buildEntry(facts({ alternate: obj }), { ...ctx, key: '/a.git' }).entry, { forkgroup: 'abc', reference: null }, 'first member: null');
  t.equal(buildEntry(facts({ alternate: obj }), { ...ctx, old: e({ forkgroup: 'abc', reference: '/kept.git' }) }).entry.reference, '/kept.git', 'unchanged forkgroup keeps the stored reference');
  t.equal(buildEntry(facts({ alternate: obj }), { ...ctx, old: e({ forkgroup: 'other', reference: '/kept.git' }) }).entry.reference, '/a.git', 'changed forkgroup recomputes');
});

t.test('symlink references, removal and comparison', async (t) => {
  const m: Manifest = new Map([['/a.git', e({ symlinks: ['/alias.git', '/b2.git'] })], ['/b.git', e({ reference: '/alias.git' })]]);
  resolveSymlinkReferences(m);
  t.equal(m.get('/b.git')!.reference, '/a.git');
  t.same(removeEntries(m, ['/b2.git']), { removed: [], changed: true });
  t.same(m.get('/a.git')!.symlinks, ['/alias.git']);
  t.same(removeEntries(m, ['/nothing.git']), { removed: [], changed: false });
  t.same(removeEntries(m, ['/alias.git', '/b.git']), { removed: ['/b.git'], changed: true });
  t.notOk('symlinks' in m.get('/a.git')!);
  t.ok(sameEntry(e({ owner: 'x' }), { owner: 'x', ...e() }), 'key order does not matter');
  t.notOk(sameEntry(e(), e({ modified: 2 })));
  t.notOk(sameEntry(undefined, e()));
});

t.test('planner boundaries: -r without paths, walks that keep or drop entries, export marks', async (t) => {
  const two: Manifest = new Map([['/a.git', e()], ['/b.git', e()]]);
  t.equal(needsWalk(two, [], { ...opts, remove: true }), true, '-r without paths: a full walk');
  let p = planManifest(two, [], walk(['/a.git', '/b.git']), { ...opts, remove: true });
  t.same([[...p.remove], p.inspect.map((x) => x.key)], [[], ['/a.git', '/b.git']], '-r without paths removes nothing');
  p = planManifest(two, [given('/a.git')], null, { ...opts, remove: true });
  t.same([...p.remove], [['/a.git', 'removed on request']], '-r with a path removes it, saying why');
  p = planManifest(two, [given('/a.git')], walk(['/a.git', '/b.git']), { ...opts, purge: true });
  t.same([[...p.remove], p.inspect.map((x) => x.key)], [[], ['/a.git']], 'a walk that finds every entry drops none, though only /a.git is inspected');
  p = planManifest(two, [given('/a.git')], walk(['/a.git']), { ...opts, purge: true });
  t.same([...p.remove], [['/b.git', 'repository is gone']], 'an entry the walk did not find is dropped');
  const noExport: Discovery = { repos: [repo('/a.git', false), repo('/new.git', false), repo('/b.git')], symlinks: [], warnings: [], orphanLocks: [] };
  p = planManifest(two, [], noExport, { ...opts, checkExportOk: true });
  t.same([[...p.remove], p.inspect.map((x) => x.key)], [[['/a.git', 'no longer exported (no git-daemon-export-ok)']], ['/b.git']], 'unexported: a listed one dropped, a new one never listed');
});
