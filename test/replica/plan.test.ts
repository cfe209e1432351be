import t from 'tap';
import type { Manifest, ManifestEntry } from '../../shared/manifest/entry.js';
import { diskLook, layoutProblems, planPull, recordedDisk, remoteUrl, type DiskRepo, type PullOptions } from '../../replica/plan.js';

const fp = (c: string) => c.repeat(40);
const e = (over: Partial<ManifestEntry> = {}): ManifestEntry => ({ modified: 1, fingerprint: fp('a'), head: 'ref: refs/heads/main', reference: null, ...over });
const d = (over: Partial<DiskRepo> = {}): DiskRepo => ({
  exists: true,
  fingerprint: fp('a'),
  reclone: false,
  head: 'ref: refs/heads/main',
  description: null,
  owner: 'Grokmirror User',
  symlinksOk: true,
  ...over,
});
const opts: PullOptions = { include: ['*'], exclude: [], nopurge: [], ffonly: [], purge: false, forcePurge: false, purgeprotect: 5, defaultOwner: 'Grokmirror User' };
const one = (local: Manifest, remote: ManifestEntry, disk: DiskRepo, o: Partial<PullOptions> = {}) =>
  planPull(local, new Map([['/r.git', remote]]), () => disk, { ...opts, ...o }).actions[0] ?? null;

t.test('per-repo decisions', async (t) => {
  const known: Manifest = new Map([['/r.git', e()]]);
  const rows: [string, ReturnType<typeof one>, unknown][] = [
    ['missing on disk: init', one(known, e(), d({ exists: false })), { op: 'init', pull: true }],
    ['reclone marker', one(known, e(), d({ reclone: true })), { op: 'reclone' }],
    ['up to date: nothing', one(known, e(), d()), null],
    ['origin moved on: pull', one(known, e({ fingerprint: fp('b') }), d()), { op: 'update', pull: true, fixRemotes: false, fixParams: false }],
    ['not in the local manifest: adopt (fix remotes, pull)', one(new Map(), e(), d()), { op: 'update', fixRemotes: true, pull: true }],
    ['cache disagrees with the local manifest: pull', one(new Map([['/r.git', e({ fingerprint: fp('c') })]]), e(), d()), { pull: true }],
    ['description changed', one(known, e({ description: 'new' }), d()), { fixParams: true, pull: false }],
    ['owner changed', one(known, e({ owner: 'Ann' }), d()), { fixParams: true }],
    // default_owner: compared with as grokmirror does, never written
    ['no owner in the entry, none on disk: nothing', one(known, e(), d({ owner: null })), null],
    ['no owner in the entry, another one on disk: left alone', one(known, e(), d({ owner: 'Local Admin' })), null],
    ['an owner in the entry, none on disk: written', one(known, e({ owner: 'Ann' }), d({ owner: null })), { fixParams: true }],
    ['the entry names default_owner, none on disk: the same to grokmirror', one(known, e({ owner: 'Grokmirror User' }), d({ owner: null })), null],
    ['head changed', one(known, e({ head: 'ref: refs/heads/dev' }), d()), { fixParams: true }],
    ['symlink missing', one(known, e(), d({ symlinksOk: false })), { fixParams: true }],
    ['excluded: nothing', one(known, e({ fingerprint: fp('b') }), d(), { exclude: ['/r.*'] }), null],
    ['not included: nothing', one(known, e({ fingerprint: fp('b') }), d(), { include: ['/pub/*'] }), null],
  ];
  for (const [name, got, want] of rows) {
    if (want === null) t.equal(got, null, name);
    else t.match(got, want, name);
  }
});

t.test('partial marks and borrowing from outside: work only when the disk says so', async (t) => {
  const known: Manifest = new Map([['/r.git', e()]]);
  const marked: Manifest = new Map([['/r.git', e({ partial: 'blob:none' })]]);
  const rows: [string, ReturnType<typeof one>, unknown][] = [
    ['partial on disk, unmarked locally: an update that fetches nothing (marks it)', one(known, e(), d({ partial: 'blob:none' })), { op: 'update', pull: false, fixParams: false, fixRemotes: false }],
    ['partial on disk, marked the same: nothing', one(marked, e(), d({ partial: 'blob:none' })), null],
    ['partial on disk with another filter than marked: update', one(marked, e(), d({ partial: 'tree:0' })), { op: 'update', pull: false }],
    ['marked locally, complete on disk: update (drops the mark)', one(marked, e(), d({ partial: null })), { op: 'update', pull: false }],
    ['marked locally, disk not looked at (quick look): nothing', one(marked, e(), d()), null],
    ['the upstream marks it partial, ours is complete and unmarked: nothing', one(known, e({ partial: 'blob:none' }), d({ partial: null })), null],
    ['borrows from outside: an update that fetches nothing (repairs it)', one(known, e(), d({ borrowsOutside: true })), { op: 'update', pull: false }],
    ['borrows from outside, origin moved on: one update with the fetch', one(known, e({ fingerprint: fp('b') }), d({ borrowsOutside: true })), { op: 'update', pull: true }],
    ['borrows nothing from outside: nothing', one(known, e(), d({ borrowsOutside: false })), null],
  ];
  for (const [name, got, want] of rows) {
    if (want === null) t.equal(got, null, name);
    else t.match(got, want, name);
  }
});

t.test('archived entries: cloned once, never fetched, flag changes recorded', async (t) => {
  const known: Manifest = new Map([['/r.git', e()]]);
  const archivedHere: Manifest = new Map([['/r.git', e({ archived: true })]]);
  const rows: [string, ReturnType<typeof one>, unknown][] = [
    ['archived, missing on disk: cloned once', one(new Map(), e({ archived: true }), d({ exists: false })), { op: 'init', pull: true, newlyArchived: true }],
    ['becomes archived, origin moved on: no fetch, flag recorded', one(known, e({ archived: true, fingerprint: fp('b') }), d()), { op: 'update', pull: false, newlyArchived: true }],
    ['already archived, origin moved on: nothing', one(archivedHere, e({ archived: true, fingerprint: fp('b') }), d()), null],
    ['already archived, description changed: params only', one(archivedHere, e({ archived: true, description: 'x' }), d()), { pull: false, fixParams: true, newlyArchived: false }],
    ['unarchived, origin moved on: fetched again', one(archivedHere, e({ fingerprint: fp('b') }), d()), { pull: true, newlyArchived: false }],
    ['unarchived, nothing moved: flag dropped locally', one(archivedHere, e(), d()), { op: 'update', pull: false }],
    ['archived, reclone marker: recloned', one(archivedHere, e({ archived: true }), d({ reclone: true })), { op: 'reclone' }],
  ];
  for (const [name, got, want] of rows) {
    if (want === null) t.equal(got, null, name);
    else t.match(got, want, name);
  }
  const p = planPull(archivedHere, new Map([['/r.git', e({ archived: true, fingerprint: fp('b') })]]), () => d(), opts);
  t.same(p.archivedNotFetched, ['/r.git'], 'reported as not fetched');
  // Only an archived repository we hold, whose fingerprint moved and that is not being recloned, is "not fetched".
  const notFetched = (remote: ManifestEntry, disk: DiskRepo) => planPull(archivedHere, new Map([['/r.git', remote]]), () => disk, opts).archivedNotFetched;
  t.same(notFetched(e({ archived: true, fingerprint: fp('b') }), d({ reclone: true })), [], 'a reclone fetches it: not reported');
  t.same(notFetched(e({ archived: true, fingerprint: fp('b') }), d({ exists: false })), [], 'missing on disk: cloned, not reported');
  t.same(notFetched(e({ archived: true }), d()), [], 'fingerprint unchanged: not reported');
  t.same(notFetched(e({ fingerprint: fp('b') }), d()), [], 'not archived: fetched, not reported');
});

t.test('purge: only what left, never nopurge/ffonly/borrowed-from, and purgeprotect', async (t) => {
  const local: Manifest = new Map(Array.from({ length: 100 }, (_, i) => [`/r${i}.git`, e()] as [string, ManifestEntry]));
  const remote: Manifest = new Map([...local].slice(0, 96));
  const disk = () => d();
  let p = planPull(local, remote, disk, { ...opts, purge: true, nopurge: ['/r99.git'], ffonly: ['/r98.git'] }, [], new Set(['/r97.git']));
  t.same(p.purge, ['/r96.git']);
  t.equal(p.purgeRefused, null);
  p = planPull(local, remote, disk, { ...opts, purge: true });
  t.equal(p.purge.length, 4, '4 of 100 is under 5%: purged');
  t.equal(p.purgeRefused, null);
  const small: Manifest = new Map([...local].slice(0, 90));
  p = planPull(local, small, disk, { ...opts, purge: true });
  t.same(p.purge, [], '10% >= 5%: refused');
  t.same(p.purgeRefused, { count: 10, total: 100 });
  p = planPull(local, small, disk, { ...opts, purge: true, forcePurge: true });
  t.equal(p.purge.length, 10, '--force-purge');
  p = planPull(local, small, disk, { ...opts, purge: false });
  t.same(p.purge, [], 'no purging unless asked');
  p = planPull(local, remote, disk, { ...opts, purge: false });
  t.same([p.purge, p.purgeRefused], [[], null], 'no purging unless asked, even under purgeprotect');
  // Boundary: exactly purgeprotect percent is refused, one repository less is not.
  p = planPull(local, new Map([...local].slice(0, 95)), disk, { ...opts, purge: true });
  t.same([p.purge, p.purgeRefused], [[], { count: 5, total: 100 }], '5 of 100 = 5% >= purgeprotect 5: refused');
  p = planPull(local, new Map([...local].slice(0, 95)), disk, { ...opts, purge: true, purgeprotect: 5.01 });
  t.equal(p.purge.length, 5, '5% < purgeprotect 5.01: purged');
  p = planPull(local, local, disk, { ...opts, purge: true, purgeprotect: 0 });
  t.same([p.purge, p.purgeRefused], [[], null], 'nothing to purge is never a refused purge, even at purgeprotect 0');
  p = planPull(new Map(), new Map(), disk, { ...opts, purge: true, forcePurge: true }, ['/z.git', '/b.git', '/m.git']);
  t.same(p.purge, ['/b.git', '/m.git', '/z.git'], 'purged in key order');
  p = planPull(new Map(), new Map([['/a.git', e()]]), disk, { ...opts, purge: true, purgeprotect: 99 }, ['/a.git', '/stray.git']);
  t.same(p.purge, ['/stray.git'], 'repos found on disk count too');
});

t.test('a remote pointing somewhere other than site + key is fixed (a moved origin)', async (t) => {
  const known: Manifest = new Map([['/r.git', e()]]);
  t.equal(one(known, e(), d({ remoteUrl: 'http://new:8080/r.git' }), { site: 'http://new:8080' }), null);
  t.match(one(known, e(), d({ remoteUrl: 'http://old:8080/r.git' }), { site: 'http://new:8080/' }), { op: 'update', fixRemotes: true, pull: true });
  t.equal(one(known, e(), d({ remoteUrl: undefined }), { site: 'http://new:8080' }), null, 'unknown (config includes): left alone');
});

t.test('entries refused on reading are held back: never purged, and purgeprotect counts them as held', async (t) => {
  const local: Manifest = new Map(Array.from({ length: 20 }, (_, i) => [`/r${i}.git`, e()] as [string, ManifestEntry]));
  // The remote lists all but /r0.git (refused on reading: it is in `held`) and /r1.git (gone).
  const remote: Manifest = new Map([...local].slice(2));
  const disk = () => d();
  let p = planPull(local, remote, disk, { ...opts, purge: true, purgeprotect: 50 }, [], new Set(), new Set(['/r0.git']));
  t.same(p.purge, ['/r1.git'], 'the refused entry is no purge candidate; the one that left is');
  p = planPull(local, remote, disk, { ...opts, purge: true, purgeprotect: 50 }, ['/r0.git', '/stray.git'], new Set(), new Set(['/r0.git', '/stray.git']));
  t.same(p.purge, ['/r1.git'], 'held keys found on disk (a walk) stay too');
  p = planPull(local, remote, disk, { ...opts, purge: true, forcePurge: true }, [], new Set(), new Set(['/r0.git']));
  t.same(p.purge, ['/r1.git'], '--force-purge does not purge a refused entry either');
  // Boundary: 1 purge of 20 held is exactly 5%, refused at purgeprotect 5; the held entry does not change that.
  p = planPull(local, remote, disk, { ...opts, purge: true, purgeprotect: 5 }, [], new Set(), new Set(['/r0.git']));
  t.same(p.purgeRefused, { count: 1, total: 20 }, '1 of 20 = 5% >= purgeprotect 5: refused');
  p = planPull(local, remote, disk, { ...opts, purge: true, purgeprotect: 6 }, [], new Set(), new Set(['/r0.git']));
  t.same(p.purge, ['/r1.git'], '5% < purgeprotect 6: purged');
  t.same(p.actions, [], 'nothing to do for the others');
});

t.test('layout: keys against the symlinks of the whole manifest (a symlink made in a pass is no way into a repository)', async (t) => {
  const m = (o: Record<string, Partial<ManifestEntry>>) => new Map(Object.entries(o).map(([k, v]) => [k, e(v)]));
  const rows: [string, Manifest, Record<string, RegExp>, string[]?][] = [
    ['no symlinks: nothing', m({ '/a.git': {}, '/b/c.git': {} }), {}],
    ['a plain symlink: fine', m({ '/a.git': { symlinks: ['/alias.git', '/x/y.git'] }, '/b.git': {} }), {}],
    ['a symlink "/d" with keys under /d: the lister is held back, the keys are not', m({ '/a.git': { symlinks: ['/d'] }, '/d/x.git': {} }), { '/a.git': /lists a symlink "\/d" where the manifest has repositories below/ }],
    ['the same, deeper: "/d" with /d/e/x.git', m({ '/a.git': { symlinks: ['/d'] }, '/d/e/x.git': {} }), { '/a.git': /repositories below/ }],
    ['a sibling "/dd" is no parent of /d/x.git', m({ '/a.git': { symlinks: ['/dd'] }, '/d/x.git': {} }), {}],
    ['a symlink naming another repository', m({ '/a.git': { symlinks: ['/keep.git'] }, '/keep.git': {} }), { '/a.git': /lists a symlink "\/keep.git" that is a repository/ }],
    ['a symlink inside another repository', m({ '/a.git': { symlinks: ['/b.git/objects'] }, '/b.git': {} }), { '/a.git': /inside \/b.git, a repository/ }],
    ['a symlink inside its own repository', m({ '/a.git': { symlinks: ['/a.git/refs/x'] } }), { '/a.git': /inside \/a.git, a repository/ }],
    ['a symlink under another entry\'s symlink', m({ '/a.git': { symlinks: ['/d'] }, '/b.git': { symlinks: ['/d/e.git'] } }), { '/b.git': /under \/d, which \/a.git lists as its symlink/ }],
    ['one symlink listed by two entries: both held back', m({ '/a.git': { symlinks: ['/s.git'] }, '/b.git': { symlinks: ['/s.git'] } }), { '/a.git': /\/b.git lists too/, '/b.git': /\/a.git lists too/ }],
    ['a key inside another repository', m({ '/a.git': {}, '/a.git/x.git': {} }), { '/a.git/x.git': /lies inside \/a.git, another repository/ }],
    // A targeted pass judges only the new entries: a key under a symlink a held entry lists is held back.
    ['targeted: a new key under a symlink of an entry we hold', m({ '/a.git': { symlinks: ['/d'] }, '/d/x.git': {} }), { '/d/x.git': /lies under \/d, which \/a.git lists as its symlink/ }, ['/d/x.git']],
    ['targeted: a new entry listing a symlink over keys we hold', m({ '/a.git': { symlinks: ['/d'] }, '/d/x.git': {} }), { '/a.git': /repositories below/ }, ['/a.git']],
  ];
  for (const [name, entries, want, only] of rows) {
    const got = layoutProblems(entries, only);
    t.same([...got.keys()].sort(), Object.keys(want).sort(), `${name}: held back`);
    for (const [k, re] of Object.entries(want)) t.match(got.get(k), re, `${name}: ${k} says why`);
  }
  // planPull holds them back: no action, reported, not purged.
  const local: Manifest = new Map([['/a.git', e()], ['/d/x.git', e()]]);
  const remote = m({ '/a.git': { symlinks: ['/d'], fingerprint: fp('b') }, '/d/x.git': { fingerprint: fp('b') } });
  const p = planPull(local, remote, () => d(), { ...opts, purge: true, purgeprotect: 100 });
  t.same(p.actions.map((a) => a.key), ['/d/x.git'], 'only /d/x.git is worked on');
  t.same(p.refused.map((r) => r.key), ['/a.git'], '/a.git is refused');
  t.same(p.purge, [], 'and not purged');
});

t.test('boundaries of the per-repo decision: exact flags, null heads, no site, no local entry', async (t) => {
  const known: Manifest = new Map([['/r.git', e()]]);
  const all = { fixRemotes: true, fixParams: true, pull: true, newlyArchived: false };
  t.same(one(known, e(), d({ exists: false })), { key: '/r.git', entry: e(), op: 'init', ...all }, 'init does everything');
  t.same(one(known, e(), d({ reclone: true })), { key: '/r.git', entry: e(), op: 'reclone', ...all }, 'reclone does everything');
  t.equal(one(known, e({ head: null }), d({ head: 'ref: refs/heads/other' })), null, 'an entry without a head: no change');
  t.match(one(known, e({ head: 'ref: refs/heads/other' }), d({ head: null })), { fixParams: true }, 'a head where the disk has none: set');
  t.equal(one(known, e(), d({ remoteUrl: 'http://elsewhere/r.git' })), null, 'no [remote] site: the remote is left alone');
  t.equal(one(known, e(), d({ remoteUrl: 'http://new:8080/r.git' }), { site: 'http://new:8080//' }), null, 'trailing slashes of the site do not count');
  t.match(one(new Map(), e(), d({ partial: 'blob:none' })), { op: 'update', fixRemotes: true }, 'no local entry, partial on disk: adopted');
});

t.test('remoteUrl: percent-encoded keys for URL sites only', async (t) => {
  const rows: [string, string, string][] = [
    ['http://h', '/a b.git', 'http://h/a%20b.git'],
    ['http://h//', '/a b.git', 'http://h/a%20b.git'],
    ['git+ssh://h', '/a%41.git', 'git+ssh://h/a%2541.git'],
    ['/srv/git/', '/a b.git', '/srv/git/a b.git'],
    ['/srv/x://y', '/a b.git', '/srv/x://y/a b.git'],
    ['1http://h', '/a b.git', '1http://h/a b.git'],
    ['', '/a b.git', '/a b.git'],
  ];
  for (const [site, key, want] of rows) t.equal(remoteUrl(site, key), want, `${site} + ${key}`);
});

t.test('layout boundaries: deep parents, every symlink, many symlinks, keys outside the manifest', async (t) => {
  const m = (o: Record<string, Partial<ManifestEntry>>) => new Map(Object.entries(o).map(([k, v]) => [k, e(v)]));
  const many = Array.from({ length: 17 }, (_, i) => `/s${i}.git`);
  const rows: [string, Manifest, Record<string, RegExp>, string[]?][] = [
    ['a key two levels inside another repository', m({ '/d/a.git': {}, '/d/a.git/x/y.git': {} }), { '/d/a.git/x/y.git': /lies inside \/d\/a.git/ }],
    ['the second symlink is the bad one', m({ '/a.git': { symlinks: ['/fine.git', '/keep.git'] }, '/keep.git': {} }), { '/a.git': /"\/keep.git" that is a repository/ }],
    ['a bad symlink and a bad place: the symlink is named', m({ '/b.git': {}, '/b.git/x.git': { symlinks: ['/c.git'] }, '/c.git': {} }), { '/b.git/x.git': /"\/c.git" that is a repository/ }],
    // Past 16 symlinks the check of repositories below switches from scans to a set of directories.
    ['a symlink over keys, after 17 plain ones', m({ '/a.git': { symlinks: [...many, '/d'] }, '/d/x.git': {} }), { '/a.git': /"\/d" where the manifest has repositories below/ }],
    ['17 plain symlinks and one beside the keys: fine', m({ '/a.git': { symlinks: [...many, '/dd'] }, '/d/x.git': {} }), {}],
    ['judging a key the manifest lacks: nothing', m({ '/a.git': {} }), {}, ['/gone.git']],
  ];
  for (const [name, entries, want, only] of rows) {
    const got = layoutProblems(entries, only);
    t.same([...got.keys()].sort(), Object.keys(want).sort(), `${name}: held back`);
    for (const [k, re] of Object.entries(want)) t.match(got.get(k), re, `${name}: ${k} says why`);
  }
});

t.test('a notice (socket) forces the fetch the fingerprints cannot ask for; never of an archived entry', async (t) => {
  const known: Manifest = new Map([['/r.git', e()]]);
  const notified = (remote: ManifestEntry, local: Manifest = known) =>
    planPull(local, new Map([['/r.git', remote]]), () => d(), opts, [], new Set(), new Set(), new Set(['/r.git'])).actions[0] ?? null;
  t.same(notified(e()), { key: '/r.git', entry: e(), op: 'update', fixRemotes: false, fixParams: false, pull: true, newlyArchived: false }, 'fetched, nothing else');
  t.equal(notified(e({ archived: true }), new Map([['/r.git', e({ archived: true })]])), null, 'archived: nothing');
  t.equal(planPull(known, new Map([['/r.git', e()]]), () => d(), opts, [], new Set(), new Set(), new Set(['/other.git'])).actions.length, 0, 'another key named: nothing');
});

t.test('diskLook: a pass looks at what the manifest changed, everything held only when it rechecks', async (t) => {
  const held = e({ description: 'd', owner: 'Ann' });
  const rows: [string, ReturnType<typeof diskLook>, ReturnType<typeof diskLook>][] = [
    ['not held yet: git\'s view', diskLook(held, undefined, false, false), 'full'],
    ['not held yet, rechecking: the same', diskLook(held, undefined, true, false), 'full'],
    ['held exactly: nothing looked at', diskLook(held, held, false, false), 'none'],
    ['held exactly, rechecking (-n, recheck_cron): its files', diskLook(held, held, true, false), 'quick'],
    ['the fingerprint changed', diskLook(e({ description: 'd', owner: 'Ann', fingerprint: fp('b') }), held, false, false), 'full'],
    ['only the description changed', diskLook(e({ description: 'x', owner: 'Ann' }), held, false, false), 'full'],
    ['only the modified time changed', diskLook(e({ description: 'd', owner: 'Ann', modified: 2 }), held, false, false), 'full'],
    ['our partial mark is ours, not a change', diskLook(held, { ...held, partial: true }, false, false), 'none'],
    ['a partial clone not marked yet: git\'s view, which marks it', diskLook(held, held, false, true), 'full'],
  ];
  for (const [name, got, want] of rows) t.equal(got, want, name);
  // what is planned from the recorded entry: nothing, or a fetch when a notice asks
  const local: Manifest = new Map([['/r.git', held]]);
  t.equal(planPull(local, new Map([['/r.git', held]]), () => recordedDisk(held), opts).actions.length, 0, 'an unchanged entry taken as recorded: no work');
  t.match(planPull(local, new Map([['/r.git', held]]), () => recordedDisk(held), opts, [], new Set(), new Set(), new Set(['/r.git'])).actions[0], { op: 'update', pull: true, fixParams: false, fixRemotes: false }, 'a notice still fetches it');
  t.same(recordedDisk(e()), { exists: true, fingerprint: fp('a'), reclone: false, head: 'ref: refs/heads/main', description: null, owner: null, symlinksOk: true });
});
