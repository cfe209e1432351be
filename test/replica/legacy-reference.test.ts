import t from 'tap';
import type { Manifest, ManifestEntry } from '../../shared/manifest/entry.js';
import { chainEntries, derivedForkgroup, mapLegacyReferences, referencedRoots } from '../../replica/legacy-reference.js';

const e = (over: Partial<ManifestEntry> = {}): ManifestEntry => ({ modified: 1, fingerprint: 'a'.repeat(40), head: null, reference: null, ...over });
const m = (rows: Record<string, Partial<ManifestEntry>>): Manifest => new Map(Object.entries(rows).map(([k, v]) => [k, e(v)]));
const groups = (out: Manifest) => Object.fromEntries([...out].map(([k, v]) => [k, v.forkgroup ?? null]));

t.test('1.x references become forkgroups, as grokmirror maps them', async (t) => {
  const up = derivedForkgroup('/up.git');
  const rows: [string, Manifest, Manifest, Map<string, string>, Record<string, string | null>][] = [
    ['a fork and the repository it references share one forkgroup', m({ '/up.git': {}, '/f.git': { reference: '/up.git' } }), new Map(), new Map(), { '/up.git': up, '/f.git': up }],
    ['two forks of one repository: one forkgroup', m({ '/up.git': {}, '/a.git': { reference: '/up.git' }, '/b.git': { reference: '/up.git' } }), new Map(), new Map(), { '/up.git': up, '/a.git': up, '/b.git': up }],
    ['a fork of a fork: one forkgroup, named after the end of the chain', m({ '/up.git': {}, '/a.git': { reference: '/up.git' }, '/b.git': { reference: '/a.git' } }), new Map(), new Map(), { '/up.git': up, '/a.git': up, '/b.git': up }],
    ['the referenced repository has a forkgroup: the fork joins it', m({ '/up.git': { forkgroup: 'g1' }, '/f.git': { reference: '/up.git' } }), new Map(), new Map(), { '/up.git': 'g1', '/f.git': 'g1' }],
    ['our local manifest named one: it wins', m({ '/up.git': {}, '/f.git': { reference: '/up.git' } }), m({ '/up.git': { forkgroup: 'mine' } }), new Map(), { '/up.git': 'mine', '/f.git': 'mine' }],
    ['a fork grokmirror already grouped here: its name wins', m({ '/up.git': {}, '/f.git': { reference: '/up.git' } }), m({ '/f.git': { forkgroup: 'a-uuid' } }), new Map(), { '/up.git': 'a-uuid', '/f.git': 'a-uuid' }],
    ['the referenced repository borrows from an objstore here: that one', m({ '/up.git': {}, '/f.git': { reference: '/up.git' } }), m({ '/up.git': { forkgroup: 'old' } }), new Map([['/up.git', 'on-disk']]), { '/up.git': 'on-disk', '/f.git': 'on-disk' }],
    ['a name that is no forkgroup name is not used', m({ '/up.git': {}, '/f.git': { reference: '/up.git' } }), new Map(), new Map([['/up.git', '../x']]), { '/up.git': up, '/f.git': up }],
    ['the referenced repository is not listed: the fork still gets the group', m({ '/f.git': { reference: '/up.git' } }), new Map(), new Map(), { '/f.git': up }],
    ['a 2.x entry (forkgroup and reference) is left as it is', m({ '/up.git': {}, '/f.git': { reference: '/up.git', forkgroup: 'g2' } }), new Map(), new Map(), { '/up.git': null, '/f.git': 'g2' }],
    ['a reference to itself means nothing', m({ '/f.git': { reference: '/f.git' } }), new Map(), new Map(), { '/f.git': null }],
  ];
  for (const [name, remote, local, onDisk, want] of rows) {
    const before = JSON.stringify([...remote]);
    t.same(groups(mapLegacyReferences(remote, local, onDisk)), want, name);
    t.equal(JSON.stringify([...remote]), before, `${name}: the input is not changed`);
  }
  const loop = groups(mapLegacyReferences(m({ '/a.git': { reference: '/b.git' }, '/b.git': { reference: '/a.git' } }), new Map()));
  t.ok(loop['/a.git'] && loop['/a.git'] === loop['/b.git'], 'a loop of references ends, in one forkgroup');
  t.same(referencedRoots(m({ '/up.git': {}, '/a.git': { reference: '/up.git' }, '/b.git': { reference: '/a.git' } }), new Map()), ['/up.git']);
  t.match(up, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'a UUID-shaped name, like grokmirror\'s');
  t.equal(derivedForkgroup('/up.git'), up, 'the same on every pass and every replica');
});

t.test('chainEntries: a pass that built only the entries it wants maps 1.x forks as the whole manifest would', async (t) => {
  // /f.git (wanted) -> /mid.git -> /up.git (forkgroup g1), neither of them wanted
  const whole = m({ '/up.git': { forkgroup: 'g1' }, '/mid.git': { reference: '/up.git' }, '/f.git': { reference: '/mid.git' }, '/other.git': {} });
  const picks: string[][] = [];
  const pick = (keys: ReadonlySet<string>) => {
    picks.push([...keys]);
    return new Map([...whole].filter(([k]) => keys.has(k)));
  };
  const kept = m({ '/f.git': { reference: '/mid.git' } });
  const chains = chainEntries(kept, new Map(), pick);
  t.same([...chains.keys()].sort(), ['/mid.git', '/up.git'], 'the chain read a link at a time');
  t.same(picks, [['/mid.git'], ['/up.git']]);
  const merged = new Map([...kept, ...chains]);
  t.equal(mapLegacyReferences(merged, new Map()).get('/f.git')!.forkgroup, mapLegacyReferences(whole, new Map()).get('/f.git')!.forkgroup, 'the same forkgroup as with every entry');
  t.equal(mapLegacyReferences(merged, new Map()).get('/f.git')!.forkgroup, 'g1');
  t.same(chainEntries(m({ '/a.git': {}, '/b.git': { forkgroup: 'x', reference: '/a.git' } }), new Map(), pick).size, 0, 'no 1.x fork: nothing read');
  picks.length = 0;
  t.same(chainEntries(m({ '/f.git': { reference: '/gone.git' } }), new Map(), pick).size, 0, 'a reference to an entry the manifest lacks: read once, then left');
  t.same(picks, [['/gone.git']]);
  t.same(chainEntries(m({ '/f.git': { reference: '/up.git' } }), m({ '/up.git': { forkgroup: 'mine' } }), pick).size, 0, 'an end we hold locally: nothing read');
});
