import t from 'tap';
import type { Manifest, ManifestEntry } from '../../shared/manifest/entry.js';
import { derivedForkgroup, mapLegacyReferences, referencedRoots } from '../../replica/legacy-reference.js';

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
