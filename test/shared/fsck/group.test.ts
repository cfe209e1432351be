import t from 'tap';
import { areSiblings, groupForks, overlap, type RepoRoots, type StoreRoots } from '../../../shared/fsck/group.js';

const repo = (key: string, roots: string[], extra: Partial<RepoRoots> = {}): RepoRoots => ({ key, roots, store: null, forkgroup: null, optOut: false, baseline: false, ...extra });
const store = (name: string, roots: string[], users: number, extra: Partial<StoreRoots> = {}): StoreRoots => ({ name, roots, users, hasBaseline: false, fixedName: false, ...extra });

t.test('areSiblings', async (t) => {
  const cases: [string[], string[], boolean, string][] = [
    [['a'], ['a'], true, 'equal'],
    [['a'], ['a', 'b', 'c', 'd'], true, 'subset'],
    [['a', 'b'], ['a', 'c'], true, 'symmetric difference 2'],
    [['a', 'b', 'c'], ['a', 'd', 'e'], false, 'symmetric difference 4'],
    [['a'], ['b'], false, 'unrelated one-root repos (grokmirror called these siblings)'],
    [[], ['a'], false, 'no roots'],
    [[], [], false, 'both empty'],
  ];
  for (const [a, b, want, why] of cases) {
    t.equal(areSiblings(a, b), want, why);
    t.equal(areSiblings(b, a), want, `${why} (swapped)`);
  }
});

t.test('overlap is shared roots over the objstore roots', async (t) => {
  t.equal(overlap(['a'], ['a', 'b', 'c', 'd', 'e']), 0.2);
  t.equal(overlap(['x'], ['a']), 0);
  t.equal(overlap(['a'], []), 0);
});

t.test('groupForks', async (t) => {
  const cases: { name: string; repos: RepoRoots[]; stores: StoreRoots[]; want: ReturnType<typeof groupForks> }[] = [
    {
      name: 'siblings without an objstore get a new one; a lone repo and an unrelated one do not',
      repos: [repo('/up', ['r1']), repo('/fork', ['r1']), repo('/lone', ['r2']), repo('/other', ['r3'])],
      stores: [],
      want: { joins: [], newStores: [{ name: null, members: ['/fork', '/up'] }], merges: [] },
    },
    {
      name: 'a new fork joins the objstore its roots overlap',
      repos: [repo('/up', ['r1'], { store: 's1' }), repo('/fork', ['r1'])],
      stores: [store('s1', ['r1'], 1)],
      want: { joins: [{ key: '/fork', store: 's1' }], newStores: [], merges: [] },
    },
    {
      name: 'overlap below 0.2 does not join',
      repos: [repo('/x', ['r1'])],
      stores: [store('s1', ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'], 3)],
      want: { joins: [], newStores: [], merges: [] },
    },
    {
      name: 'an objstore holding a baseline repo is preferred over a better overlap',
      repos: [repo('/x', ['r1', 'r2'])],
      stores: [store('best', ['r1', 'r2'], 2), store('base', ['r1', 'r9', 'r8'], 2, { hasBaseline: true })],
      want: { joins: [{ key: '/x', store: 'base' }], newStores: [], merges: [] },
    },
    {
      name: 'opted-out and rootless repos stay alone',
      repos: [repo('/a', ['r1'], { optOut: true }), repo('/b', ['r1'], { optOut: true }), repo('/e', [])],
      stores: [],
      want: { joins: [], newStores: [], merges: [] },
    },
    {
      name: 'a fork of a fork (more roots after a merge of another history) groups with both',
      repos: [repo('/up', ['r1']), repo('/fork', ['r1']), repo('/forkfork', ['r1', 'r2'])],
      stores: [],
      want: { joins: [], newStores: [{ name: null, members: ['/fork', '/forkfork', '/up'] }], merges: [] },
    },
    {
      name: 'two objstores of siblings merge into the one with more users',
      repos: [],
      stores: [store('small', ['r1'], 1), store('big', ['r1'], 3)],
      want: { joins: [], newStores: [], merges: [{ from: 'small', into: 'big' }] },
    },
    {
      name: 'a forkgroup-named objstore (replica) is never merged away',
      repos: [],
      stores: [store('fg-a', ['r1'], 1, { fixedName: true }), store('uuid', ['r1'], 3)],
      want: { joins: [], newStores: [], merges: [] },
    },
    {
      name: 'on a replica the manifest forkgroup decides, not the roots',
      repos: [repo('/a', ['r1'], { forkgroup: 'fg1' }), repo('/b', ['r2'], { forkgroup: 'fg1' }), repo('/c', ['r1'], { forkgroup: 'fg2' })],
      stores: [store('fg2', ['r1'], 1, { fixedName: true })],
      want: { joins: [{ key: '/c', store: 'fg2' }], newStores: [{ name: 'fg1', members: ['/a', '/b'] }], merges: [] },
    },
    {
      name: 'after a merge, a repo matching the absorbed objstore joins the survivor',
      repos: [repo('/x', ['r1'])],
      stores: [store('small', ['r1'], 1), store('big', ['r1'], 2)],
      want: { joins: [{ key: '/x', store: 'big' }], newStores: [], merges: [{ from: 'small', into: 'big' }] },
    },
  ];
  for (const c of cases) t.same(groupForks(c.repos, c.stores), c.want, c.name);
});

t.test('grouping at its boundaries: difference of exactly 2 and 3, overlap exactly 0.2, equal users, order', async (t) => {
  t.equal(areSiblings(['a', 'b', 'c'], ['a', 'b', 'd']), true, 'two shared, symmetric difference 2');
  t.equal(areSiblings(['a', 'b', 'c'], ['a', 'd']), false, 'symmetric difference 3');
  const five = store('s', ['a', 'b', 'c', 'd', 'e'], 2);
  t.same(groupForks([repo('/r.git', ['a', 'x'])], [five]).joins, [{ key: '/r.git', store: 's' }], 'overlap exactly 0.2: joins');
  t.same(groupForks([repo('/r.git', ['x', 'y'])], [five]).joins, [], 'no overlap: does not');
  t.same(groupForks([], [store('b', ['a'], 2), store('a', ['a'], 2)]).merges, [{ from: 'b', into: 'a' }], 'equal users: the first name absorbs the other');
  t.same(groupForks([], [store('small', ['a'], 1), store('big', ['a', 'b'], 3), store('mid', ['a'], 2)]).merges, [{ from: 'mid', into: 'big' }, { from: 'small', into: 'big' }], 'the largest absorbs the rest');
  const plan = groupForks(
    [repo('/z.git', ['a']), repo('/y.git', ['q']), repo('/m.git', ['a']), repo('/k.git', ['q']), repo('/j.git', ['s']), repo('/f2.git', [], { forkgroup: 'aa' }), repo('/f1.git', [], { forkgroup: 'zz' })],
    [store('s', ['s'], 1)],
  );
  t.same(plan.joins, [{ key: '/j.git', store: 's' }]);
  t.same(plan.newStores, [{ name: 'aa', members: ['/f2.git'] }, { name: 'zz', members: ['/f1.git'] }, { name: null, members: ['/k.git', '/y.git'] }, { name: null, members: ['/m.git', '/z.git'] }], 'named first by name, then clusters by first key, members sorted');
});

t.test('grouping after merges, sharing a root without being siblings, ties between objstores', async (t) => {
  t.same(groupForks([repo('/r1.git', ['a', 'b', 'c']), repo('/r2.git', ['a', 'd', 'e'])], []).newStores, [], 'one shared root, symmetric difference 4: no objstore');
  t.same(groupForks([repo('/b.git', ['s']), repo('/a.git', ['s'])], [store('s', ['s'], 1)]).joins, [{ key: '/a.git', store: 's' }, { key: '/b.git', store: 's' }], 'joins in key order');
  // b (r1, r3) is absorbed by a (r1, r2): a repository with r3 joins a, which now holds r3, never b.
  const merged = [store('a', ['r1', 'r2'], 2), store('b', ['r1', 'r3'], 1)];
  const p = groupForks([repo('/x.git', ['r3'])], merged);
  t.same([p.merges, p.joins], [[{ from: 'b', into: 'a' }], [{ key: '/x.git', store: 'a' }]], 'the absorbing objstore takes the roots of the absorbed');
  // The baseline of an absorbed objstore counts for the one that absorbed it, before a better overlap elsewhere.
  const withBaseline = [store('a', ['r1', 'r2'], 2), store('b', ['r1', 'r3'], 1, { hasBaseline: true }), store('c', ['r3', 'r9'], 1)];
  t.same(groupForks([repo('/x.git', ['r3', 'r9'])], withBaseline).joins, [{ key: '/x.git', store: 'a' }], 'baseline inherited through a merge');
  t.same(groupForks([repo('/x.git', ['x', 'y'])], [store('b', ['y', 'q'], 1), store('a', ['x', 'p'], 1)]).joins, [{ key: '/x.git', store: 'a' }], 'equal overlap: the first name');
  t.same(groupForks([repo('/x.git', ['x', 'y'])], [store('b', ['y'], 1), store('a', ['x', 'p', 'q'], 1)]).joins, [{ key: '/x.git', store: 'b' }], 'the better overlap wins over the name');
  t.same(groupForks([repo('/x.git', ['x', 'y'])], [store('a', ['x', 'p', 'q'], 1), store('b', ['y'], 1)]).joins, [{ key: '/x.git', store: 'b' }], 'whatever the order they come in');
});
