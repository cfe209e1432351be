// grok-bundle's planner as a table: which key gets a bundle, which is refused and why, which
// directories are owned, and which directories on disk are stale. Rows sit at each rule's edge.
import t from 'tap';
import { planBundles, staleBundleDirs } from '../../../replica/bundle/plan.js';

type Row = {
  name: string;
  keys: string[];
  include: string[];
  recorded?: Record<string, string>;
  targets: [string, string][];
  refused: [string, string][];
  owned: string[];
};

const OWNED_BY = (dir: string, key: string) => `its bundle directory ${JSON.stringify(dir)} is ${key}'s`;
const OWN_PART = (dir: string, part: string) => `its bundle directory ${JSON.stringify(dir)} has a part named ${JSON.stringify(part)}, a name grok-bundle's own files use`;

const rows: Row[] = [
  { name: 'nothing in the manifest', keys: [], include: ['*'], targets: [], refused: [], owned: [] },
  { name: 'one key, included', keys: ['/a.git'], include: ['*'], targets: [['/a.git', 'a']], refused: [], owned: ['a'] },
  { name: 'one key, not included: no target, but its directory is still owned', keys: ['/a.git'], include: ['/b*'], targets: [], refused: [], owned: ['a'] },
  { name: 'no include globs at all', keys: ['/a.git'], include: [], targets: [], refused: [], owned: ['a'] },
  { name: 'as grokmirror, keys keep their leading slash: a glob without one does not match', keys: ['/pub/a.git'], include: ['pub/*'], targets: [], refused: [], owned: ['pub/a'] },
  { name: 'the glob with its leading slashes removed matches too (as grokmirror)', keys: ['/pub/a.git'], include: ['//*'], targets: [['/pub/a.git', 'pub/a']], refused: [], owned: ['pub/a'] },
  { name: 'the same, a glob that only matches once stripped', keys: ['/pub/a.git'], include: ['/?pub/a.git'], targets: [['/pub/a.git', 'pub/a']], refused: [], owned: ['pub/a'] },
  { name: 'every leading slash goes, not only the first', keys: ['/pub/a.git'], include: ['//?pub/a.git'], targets: [['/pub/a.git', 'pub/a']], refused: [], owned: ['pub/a'] },
  { name: 'only leading slashes go, never one inside the glob', keys: ['/xa.git'], include: ['*x/a.git'], targets: [], refused: [], owned: ['xa'] },
  { name: 'the glob as given matches as well', keys: ['/pub/a.git'], include: ['/pub/a.git'], targets: [['/pub/a.git', 'pub/a']], refused: [], owned: ['pub/a'] },
  {
    name: '/a and /a.git meet: the first key (sorted) gets it, the other is refused',
    keys: ['/a.git', '/a'], include: ['*'],
    targets: [['/a', 'a']], refused: [['/a.git', OWNED_BY('a', '/a')]], owned: ['a'],
  },
  {
    name: 'the record names the second key: it keeps the directory',
    keys: ['/a', '/a.git'], include: ['*'], recorded: { a: '/a.git' },
    targets: [['/a.git', 'a']], refused: [['/a', OWNED_BY('a', '/a.git')]], owned: ['a'],
  },
  {
    name: 'the record names a repository not in the manifest: the first key',
    keys: ['/a', '/a.git'], include: ['*'], recorded: { a: '/gone.git' },
    targets: [['/a', 'a']], refused: [['/a.git', OWNED_BY('a', '/a')]], owned: ['a'],
  },
  {
    name: 'the owner is not included: the other key is still refused, never given the directory',
    keys: ['/a', '/a.git'], include: ['/a.git'],
    targets: [], refused: [['/a.git', OWNED_BY('a', '/a')]], owned: ['a'],
  },
  {
    name: 'targets come out sorted by key even when directories are grouped otherwise',
    keys: ['/a', '/a-b.git', '/a.git'], include: ['*'], recorded: { a: '/a.git' },
    targets: [['/a-b.git', 'a-b'], ['/a.git', 'a']], refused: [['/a', OWNED_BY('a', '/a.git')]], owned: ['a', 'a-b'],
  },
  {
    name: 'refusals come out sorted by key',
    keys: ['/b', '/b.git', '/a', '/a.git'], include: ['*'], recorded: { a: '/a.git', b: '/b.git' },
    targets: [['/a.git', 'a'], ['/b.git', 'b']], refused: [['/a', OWNED_BY('a', '/a.git')], ['/b', OWNED_BY('b', '/b.git')]], owned: ['a', 'b'],
  },
  {
    name: 'refusals from different directories come out sorted by key, not by directory',
    keys: ['/a', '/a.git', '/a-b', '/a-b.git'], include: ['*'], recorded: { 'a-b': '/a-b.git' },
    targets: [['/a', 'a'], ['/a-b.git', 'a-b']], refused: [['/a-b', OWNED_BY('a-b', '/a-b.git')], ['/a.git', OWNED_BY('a', '/a')]], owned: ['a', 'a-b'],
  },
  {
    name: 'a key needing a directory named like our bundle file is refused, whatever else exists',
    keys: ['/x/clone.bundle.git'], include: ['*'],
    targets: [], refused: [['/x/clone.bundle.git', OWN_PART('x/clone.bundle', 'clone.bundle')]], owned: [],
  },
  {
    name: 'the same, beside the repository whose bundle it would collide with',
    keys: ['/x.git', '/x/clone.bundle.git'], include: ['*'],
    targets: [['/x.git', 'x']], refused: [['/x/clone.bundle.git', OWN_PART('x/clone.bundle', 'clone.bundle')]], owned: ['x'],
  },
  {
    name: 'a part named like the record file, deeper down',
    keys: ['/p/.fingerprint/q.git'], include: ['*'],
    targets: [], refused: [['/p/.fingerprint/q.git', OWN_PART('p/.fingerprint/q', '.fingerprint')]], owned: [],
  },
  {
    name: 'a name that only starts like ours is fine',
    keys: ['/x/clone.bundles.git'], include: ['*'],
    targets: [['/x/clone.bundles.git', 'x/clone.bundles']], refused: [], owned: ['x/clone.bundles'],
  },
  {
    name: 'a key naming no directory is refused',
    keys: ['/.git'], include: ['*'],
    targets: [], refused: [['/.git', 'names no bundle directory']], owned: [],
  },
  {
    name: 'a refused layout, not included: neither target nor refusal',
    keys: ['/x/clone.bundle.git'], include: ['/y*'],
    targets: [], refused: [], owned: [],
  },
  {
    name: 'only the trailing .git goes',
    keys: ['/foo.github.io.git'], include: ['*'],
    targets: [['/foo.github.io.git', 'foo.github.io']], refused: [], owned: ['foo.github.io'],
  },
];

t.test('planBundles', async (t) => {
  for (const r of rows) {
    const asked: string[] = [];
    const plan = planBundles(r.keys, r.include, (dir) => {
      asked.push(dir);
      return r.recorded?.[dir] ?? null;
    });
    t.same(plan.targets.map((x) => [x.key, x.dir]), r.targets, `${r.name}: targets`);
    t.same(plan.refused.map((x) => [x.key, x.why]), r.refused, `${r.name}: refused`);
    t.same([...plan.owned].sort(), r.owned, `${r.name}: owned`);
    for (const dir of asked) t.notOk(dir === '' || dir.split('/').includes('clone.bundle'), `${r.name}: a refused layout's record is never read (${dir})`);
  }
});

t.test('the default record reader: no record, first key', async (t) => {
  t.same(planBundles(['/a.git', '/a'], ['*']).targets.map((x) => x.key), ['/a']);
});

t.test('staleBundleDirs', async (t) => {
  const owned = new Set(['a', 'pub/b']);
  t.same(staleBundleDirs([], owned), []);
  t.same(staleBundleDirs(['a', 'pub/b'], owned), [], 'every directory owned');
  t.same(staleBundleDirs(['z', 'pub/b', 'gone', 'a'], owned), ['gone', 'z'], 'the others, sorted');
  t.same(staleBundleDirs(['pub'], owned), ['pub'], 'a parent of an owned directory is not owned');
  t.same(staleBundleDirs(['a'], new Set()), ['a'], 'nothing owned');
});
