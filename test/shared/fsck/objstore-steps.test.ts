// grok-fsck's objstore steps (shared/fsck/objstore-steps.ts) as tables: which departures, take-backs,
// adoptions, joins, new objstores and retirements an inventory and a grouping plan make.
import t from 'tap';
import { adoptable, departureSteps, planSteps, retireSteps, type ObjstoreStep } from '../../../shared/fsck/objstore-steps.js';
import type { Inventory, RepoInfo, StoreInfo } from '../../../shared/fsck/inventory.js';

const repo = (path: string, extra: Partial<RepoInfo> = {}): RepoInfo => ({
  path, key: path.replace(/^\/top/, ''), isPrivate: false, privateWhy: null, optOut: false, store: null, borrowsFrom: null, sharedObjects: null, extraAlternates: false, ...extra,
});
const store = (name: string, members: Record<string, string> = {}, users: string[] = []): StoreInfo => ({
  name, path: `/top/objstore/${name}.git`, remotes: new Map(Object.entries(members)), users,
});
const inventory = (repos: RepoInfo[], stores: StoreInfo[] = [], lenders: string[] = []): Inventory => ({
  toplevel: '/top', objstoreDir: '/top/objstore', repos, stores, lenders: new Set(lenders), keyOf: new Map(repos.map((r) => [r.path, r.key])), orphanLocks: [],
});

/** A step in one short line, enough to tell every field a row is about. */
function brief(s: ObjstoreStep): string {
  switch (s.kind) {
    case 'tidy':
      return `tidy ${s.store.name} [${s.leaving.map((d) => `${d.v}:${d.member}:${d.exists ? 'here' : 'gone'}:${d.why}${d.nowPrivate ? ':hide' : ''}`).join(' ')}]`;
    case 'take-back-and-leave':
      return `take-back-and-leave ${s.store.name} ${s.departure.member} ${s.departure.why}`;
    case 'take-back':
      return `take-back ${s.repo.path} from ${s.lender} (${s.why})`;
    case 'merge':
      return `merge ${s.from.name} into ${s.into.name}`;
    case 'join':
    case 'adopt':
      return `${s.kind} ${s.repo.path} ${s.store} at ${s.storePath}`;
    case 'finish-adoption':
      return `finish-adoption ${s.repo.path} ${s.store.name}`;
    case 'create':
      return `create ${s.name} at ${s.storePath} [${s.members.map((m) => m.path).join(' ')}]`;
    case 'retire':
      return `retire ${s.store.name}`;
  }
}

t.test('departureSteps', async (t) => {
  const rows: { name: string; inv: Inventory; exists: string[]; origin?: boolean; want: string[] }[] = [
    { name: 'nothing at all', inv: inventory([]), exists: [], want: [] },
    {
      name: 'a member in place stays; the objstore is still tidied',
      inv: inventory([repo('/top/a.git', { store: 's' })], [store('s', { v1: '/top/a.git' })]),
      exists: ['/top/a.git'], want: ['tidy s []'],
    },
    {
      name: 'a member whose repository is gone leaves',
      inv: inventory([], [store('s', { v1: '/top/a.git' })]),
      exists: [], want: ['tidy s [v1:/top/a.git:gone:gone]'],
    },
    {
      name: 'gone from disk but still in the inventory: gone wins',
      inv: inventory([repo('/top/a.git', { store: 's', isPrivate: true, privateWhy: 'ignored' })], [store('s', { v1: '/top/a.git' })]),
      exists: [], want: ['tidy s [v1:/top/a.git:gone:gone]'],
    },
    {
      name: 'a member that is private now leaves and what it brought is hidden',
      inv: inventory([repo('/top/a.git', { store: 's', isPrivate: true, privateWhy: 'not exported' })], [store('s', { v1: '/top/a.git' })]),
      exists: ['/top/a.git'], want: ['tidy s [v1:/top/a.git:here:private now: not exported:hide]'],
    },
    {
      name: 'an opted-out member still borrowing takes its objects back first',
      inv: inventory([repo('/top/a.git', { store: 's', optOut: true })], [store('s', { v1: '/top/a.git' })]),
      exists: ['/top/a.git'], want: ['tidy s []', 'take-back-and-leave s /top/a.git opted out'],
    },
    {
      name: 'an opted-out member borrowing elsewhere just leaves this one',
      inv: inventory([repo('/top/a.git', { store: 't', optOut: true })], [store('s', { v1: '/top/a.git' }), store('t')]),
      exists: ['/top/a.git'], want: ['tidy s [v1:/top/a.git:here:opted out]', 'tidy t []'],
    },
    {
      name: 'a member that borrows from another objstore now leaves this one',
      inv: inventory([repo('/top/a.git', { store: 't' })], [store('s', { v1: '/top/a.git' }), store('t', { v2: '/top/a.git' })]),
      exists: ['/top/a.git'], want: ['tidy s [v1:/top/a.git:here:borrows elsewhere]', 'tidy t []'],
    },
    {
      name: 'a member not in the inventory but on disk (not a repository we list): borrows elsewhere',
      inv: inventory([], [store('s', { v1: '/top/x.git' })]),
      exists: ['/top/x.git'], want: ['tidy s [v1:/top/x.git:here:borrows elsewhere]'],
    },
    {
      name: 'an adoption a kill cut short is finished',
      inv: inventory([repo('/top/f.git', { store: 's', extraAlternates: true })], [store('s', { v1: '/top/f.git' })]),
      exists: ['/top/f.git'], want: ['tidy s []', 'finish-adoption /top/f.git s'],
    },
    {
      name: 'extra alternates naming an objstore that is not there: nothing to finish',
      inv: inventory([repo('/top/f.git', { store: 'gone', extraAlternates: true })], [store('other')]),
      exists: ['/top/f.git'], want: ['tidy other []'],
    },
    {
      name: 'an adoption to finish is finished with the objstore it uses, not another',
      inv: inventory([repo('/top/f.git', { store: 'b', extraAlternates: true })], [store('a'), store('b', { v1: '/top/f.git' })]),
      exists: ['/top/f.git'], want: ['tidy a []', 'tidy b []', 'finish-adoption /top/f.git b'],
    },
    {
      name: 'on a replica, borrowing from a private sibling is left alone',
      inv: inventory([repo('/top/f.git', { borrowsFrom: '/top/p.git' }), repo('/top/p.git', { isPrivate: true, privateWhy: 'ignored' })]),
      exists: [], want: [],
    },
    {
      name: 'on an origin, borrowing from a private sibling: it takes its objects back',
      inv: inventory([repo('/top/f.git', { borrowsFrom: '/top/p.git' }), repo('/top/p.git', { isPrivate: true, privateWhy: 'ignored' })]),
      exists: [], origin: true, want: ['take-back /top/f.git from /top/p.git (ignored)'],
    },
    {
      name: 'on an origin, a private lender with no reason recorded',
      inv: inventory([repo('/top/f.git', { borrowsFrom: '/top/p.git' }), repo('/top/p.git', { isPrivate: true })]),
      exists: [], origin: true, want: ['take-back /top/f.git from /top/p.git (private)'],
    },
    {
      name: 'on an origin, borrowing from outside the toplevel: it takes its objects back',
      inv: inventory([repo('/top/f.git', { borrowsFrom: '/elsewhere/x.git' })]),
      exists: [], origin: true, want: ['take-back /top/f.git from /elsewhere/x.git (outside the toplevel)'],
    },
    {
      name: 'on an origin, borrowing from a public sibling is fine',
      inv: inventory([repo('/top/f.git', { borrowsFrom: '/top/u.git' }), repo('/top/u.git')]),
      exists: [], origin: true, want: [],
    },
    {
      name: 'on an origin, a private borrower keeps borrowing (it gives nothing)',
      inv: inventory([repo('/top/f.git', { borrowsFrom: '/elsewhere/x.git', isPrivate: true })]),
      exists: [], origin: true, want: [],
    },
  ];
  for (const r of rows) t.same(departureSteps(r.inv, new Set(r.exists), r.origin ?? false).map(brief), r.want, r.name);
});

t.test('planSteps', async (t) => {
  const up = repo('/top/up.git');
  const fork = repo('/top/fork.git');
  const priv = repo('/top/priv.git', { isPrivate: true });
  const priv2 = repo('/top/priv2.git', { isPrivate: true });
  const borrower = repo('/top/b.git', { borrowsFrom: '/top/up.git' });
  const s = store('s', {}, []);
  const t2 = store('t', {}, []);
  const inv = inventory([up, fork, priv, priv2, borrower], [s, t2]);
  const at = (name: string) => `/top/objstore/${name}.git`;
  let n = 0;
  const nameNew = () => `new${++n}`;
  const rows: { name: string; plan: Parameters<typeof planSteps>[0]; want: string[] }[] = [
    { name: 'an empty plan', plan: { joins: [], newStores: [], merges: [] }, want: [] },
    { name: 'a merge', plan: { joins: [], newStores: [], merges: [{ from: 't', into: 's' }] }, want: ['merge t into s'] },
    { name: 'a join of an objstore that exists uses its path', plan: { joins: [{ key: '/top/fork.git', store: 's' }], newStores: [], merges: [] }, want: [`join /top/fork.git s at ${at('s')}`] },
    { name: 'a join of an objstore made earlier in the pass: its path from the name', plan: { joins: [{ key: '/top/fork.git', store: 'later' }], newStores: [], merges: [] }, want: [`join /top/fork.git later at ${at('later')}`] },
    { name: 'a repository borrowing from a sibling is adopted, not joined', plan: { joins: [{ key: '/top/b.git', store: 's' }], newStores: [], merges: [] }, want: [`adopt /top/b.git s at ${at('s')}`] },
    { name: 'a new objstore with its name', plan: { joins: [], newStores: [{ name: 'fixed', members: ['/top/up.git', '/top/fork.git'] }], merges: [] }, want: [`create fixed at ${at('fixed')} [/top/up.git /top/fork.git]`] },
    { name: 'a new objstore without one is named by nameNew', plan: { joins: [], newStores: [{ name: null, members: ['/top/up.git'] }], merges: [] }, want: [`create new1 at ${at('new1')} [/top/up.git]`] },
    { name: 'public members join first', plan: { joins: [], newStores: [{ name: 'x', members: ['/top/priv.git', '/top/up.git', '/top/priv2.git', '/top/fork.git'] }], merges: [] }, want: [`create x at ${at('x')} [/top/up.git /top/fork.git /top/priv.git /top/priv2.git]`] },
    { name: 'only private members: nothing could be shared, no objstore (and no name used)', plan: { joins: [], newStores: [{ name: null, members: ['/top/priv.git', '/top/priv2.git'] }], merges: [] }, want: [] },
    {
      name: 'merges before joins before new objstores, whatever the order given',
      plan: { newStores: [{ name: 'n', members: ['/top/up.git'] }], joins: [{ key: '/top/fork.git', store: 's' }], merges: [{ from: 't', into: 's' }] },
      want: ['merge t into s', `join /top/fork.git s at ${at('s')}`, `create n at ${at('n')} [/top/up.git]`],
    },
  ];
  for (const r of rows) t.same(planSteps(r.plan, inv, at, nameNew).map(brief), r.want, r.name);
  t.equal(n, 1, 'nameNew was called once, for the one unnamed objstore with a public member');
});

t.test('adoptable', async (t) => {
  const lender = repo('/top/u.git');
  const rows: { name: string; r: RepoInfo; lenders?: string[]; want: boolean }[] = [
    { name: 'borrowing from a sibling here', r: repo('/top/f.git', { borrowsFrom: '/top/u.git' }), want: true },
    { name: 'not borrowing at all', r: repo('/top/f.git'), want: false },
    { name: 'private', r: repo('/top/f.git', { borrowsFrom: '/top/u.git', isPrivate: true }), want: false },
    { name: 'opted out', r: repo('/top/f.git', { borrowsFrom: '/top/u.git', optOut: true }), want: false },
    { name: 'its object directory shared with another', r: repo('/top/f.git', { borrowsFrom: '/top/u.git', sharedObjects: '/top/f.git/objects' }), want: false },
    { name: 'someone borrows from it in turn', r: repo('/top/f.git', { borrowsFrom: '/top/u.git' }), lenders: ['/top/f.git'], want: false },
    { name: 'its lender is not one of the repositories here', r: repo('/top/f.git', { borrowsFrom: '/elsewhere/u.git' }), want: false },
  ];
  for (const row of rows) t.equal(adoptable(row.r, inventory([lender, row.r], [], row.lenders ?? [])), row.want, row.name);
});

t.test('retireSteps: every objstore, in order', async (t) => {
  t.same(retireSteps(inventory([])).map(brief), []);
  t.same(retireSteps(inventory([], [store('a'), store('b')])).map(brief), ['retire a', 'retire b']);
});
