/**
 * Issue 23 item 12: unknown entry fields are kept (grokmirror compatibility: a newer writer's
 * additions survive) but bounded (64 KiB of JSON, 32 levels: refused-entries.test.ts holds such an
 * entry back), and no unknown key changes behaviour anywhere: `__proto__`, `constructor`,
 * `prototype`, `toString` and friends, at the top of an entry and nested, are carried as plain data
 * through the reader, both writers (pretty and compact), the planner, feed events, and a tier chain
 * (origin -> tier 1 -> grok-origin serving tier 1 -> tier 2), and never pollute a prototype.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { buildConfig } from '../../shared/config/config.js';
import { parseIni } from '../../shared/config/ini.js';
import { Git } from '../../shared/git/index.js';
import { silentLogger } from '../../shared/log.js';
import { normaliseEntry, sameEntry, sortedEntry, type ManifestEntry } from '../../shared/manifest/entry.js';
import { parseManifestText, serializeManifest } from '../../shared/manifest/io.js';
import { layoutProblems, planPull } from '../../replica/plan.js';
import { pullTargets } from '../../replica/targeted.js';
import { runBin } from '../helpers/cli.js';
import { BIN } from '../helpers/fixture.js';
import { fsckOk, gitDir, makeRepo } from '../helpers/git.js';
import { startHostileSite } from '../helpers/hostile-site.js';
import { readM } from '../helpers/manifest.js';
import { startTestOrigin } from '../helpers/origin.js';
import { tmpDir } from '../helpers/tmp.js';

/** The unknown part of an entry, as JSON text (JSON.parse makes "__proto__" an own key, as here). */
const UNKNOWN = `"__proto__":{"archived":true,"symlinks":["/evil.git"],"head":"--upload-pack=touch pwned","polluted":1},
  "constructor":{"prototype":{"polluted":1}},"prototype":{"polluted":1},"toString":7,"hasOwnProperty":"x","valueOf":null,
  "isPrototypeOf":[1],"future":{"nested":{"__proto__":{"polluted":1}},"list":[1,{"__proto__":{"archived":true}}],"n":1.5e300}`;

/** Canonical JSON of own keys, sorted at every level (so "__proto__" is compared as the plain key it is). */
function canon(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canon((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
const unknownOf = (e: unknown) => {
  const o = e as Record<string, unknown>;
  const known = new Set(['modified', 'fingerprint', 'head', 'reference', 'owner', 'description', 'forkgroup', 'symlinks', 'archived']);
  return canon(Object.fromEntries(Object.keys(o).filter((k) => !known.has(k)).map((k) => [k, o[k]])));
};
const polluted = () => ({}) as Record<string, unknown>;
const clean = (t: { same(a: unknown, b: unknown, m: string): void }, where: string) => {
  t.same([polluted().polluted, polluted().archived, Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')], [undefined, undefined, false], `${where}: no prototype was touched`);
};

t.test('in process: reader, writers, planner, feed entries', async (t) => {
  const fp = 'a'.repeat(40);
  const text = `{"/a.git":{"modified":1,"fingerprint":"${fp}","head":"ref: refs/heads/master","reference":null,${UNKNOWN}}}`;
  const want = unknownOf(JSON.parse(text)['/a.git']);
  const parsed = parseManifestText(text, 'test');
  t.same(parsed.rejected, [], 'the entry is taken');
  const e = parsed.entries.get('/a.git')!;
  t.equal(unknownOf(e), want, 'every unknown key kept as it was');
  t.same([e.archived, e.symlinks, e.head], [undefined, undefined, 'ref: refs/heads/master'], 'none of them reads as a known field');
  clean(t, 'reading');
  for (const pretty of [false, true]) {
    const again = parseManifestText(serializeManifest(parsed.entries, pretty), 'again').entries.get('/a.git')!;
    t.equal(unknownOf(again), want, `written ${pretty ? 'pretty' : 'compact'} and read back: the same unknown keys`);
    t.ok(sameEntry(e, again), 'the same entry');
  }
  t.equal(Object.getPrototypeOf(sortedEntry(e)), null, 'the sorted copy has no prototype to set');
  t.equal(unknownOf({ ...normaliseEntry({ ...e }) }), want, 'a normalised copy keeps them');
  const plan = planPull(new Map(), parsed.entries, () => ({ exists: false, fingerprint: null, reclone: false, head: null, description: null, owner: null, symlinksOk: false }), {
    include: ['*'], exclude: [], nopurge: [], ffonly: [], purge: false, forcePurge: false, purgeprotect: 5, defaultOwner: 'x',
  });
  t.match(plan.actions, [{ key: '/a.git', op: 'init', newlyArchived: false }], 'planned as an ordinary repository');
  t.same([...layoutProblems(parsed.entries)], [], 'no symlinks seen');
  clean(t, 'writing and planning');
});

t.test('a tier chain carries unknown keys untouched and acts on none of them', async (t) => {
  const dir = tmpDir(t, 'grok-unknown-');
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'a.git'), { commits: 2 });
  makeRepo(path.join(top, 'b.git'), { commits: 1, date: 1_650_000_000 });
  const origin = await startTestOrigin(t, top);
  const real = await readM(path.join(top, 'manifest.js.gz'));
  const site = await startHostileSite(t, origin.url, new Set(Object.keys(real)));
  const entryText = (k: string) => JSON.stringify(real[k]).replace(/}$/, `,${UNKNOWN}}`);
  const doc = `{"/a.git":${entryText('/a.git')},"/b.git":${JSON.stringify(real['/b.git'])}}`;
  site.serve({ body: Buffer.from(doc) });
  const want = unknownOf(JSON.parse(doc)['/a.git']);

  const tier = (name: string, site: string, manifest: string, pretty: boolean) => {
    const mirror = path.join(dir, name);
    const conf = path.join(dir, `${name}.conf`);
    writeFileSync(conf, `[core]\ntoplevel = ${mirror}\nmanifest = ${path.join(mirror, 'manifest.js.gz')}\n[manifest]\npretty = ${pretty ? 'yes' : 'no'}\n[remote]\nsite = ${site}\nmanifest = ${manifest}\n[pull]\nprojectslist = ${path.join(mirror, 'projects.list')}\nretries = 1\n`);
    return { mirror, conf };
  };
  const check = async (mirror: string, where: string) => {
    const local = await readM(path.join(mirror, 'manifest.js.gz'));
    t.equal(unknownOf(local['/a.git']), want, `${where}: the unknown keys arrived untouched`);
    t.same([local['/a.git']!.archived, local['/a.git']!.symlinks], [undefined, undefined], `${where}: not archived, no symlinks`);
    const repo = path.join(mirror, 'a.git');
    t.equal(gitDir(repo, ['symbolic-ref', 'HEAD']), 'refs/heads/master', `${where}: HEAD from the entry's own head`);
    t.equal(gitDir(repo, ['rev-parse', 'master']), gitDir(path.join(top, 'a.git'), ['rev-parse', 'master']), `${where}: mirrored`);
    t.ok(fsckOk(repo).ok, `${where}: git fsck`);
    t.notOk(existsSync(path.join(mirror, 'evil.git')), `${where}: no symlink from __proto__.symlinks`);
  };

  const t1 = tier('tier1', site.url, `${site.url}/manifest.js`, true);
  const r1 = await runBin(BIN.pull, ['-c', t1.conf, '-n']);
  t.equal(r1.code, 0, r1.stderr);
  await check(t1.mirror, 'tier 1 (pretty manifest)');
  // Tier 1 served by grok-origin, tier 2 pulling from it over HTTP.
  const o1 = await startTestOrigin(t, t1.mirror);
  const t2 = tier('tier2', o1.url, `${o1.url}/manifest.js.gz`, false);
  const r2 = await runBin(BIN.pull, ['-c', t2.conf, '-n']);
  t.equal(r2.code, 0, r2.stderr);
  await check(t2.mirror, 'tier 2 (compact manifest, from grok-origin)');

  // The same entry as a feed event would carry it, to a targeted pass.
  const config = buildConfig(parseIni(`[core]\ntoplevel = ${t2.mirror}\nmanifest = ${path.join(t2.mirror, 'manifest.js.gz')}\n[remote]\nsite = ${o1.url}\nmanifest = ${o1.url}/manifest.js.gz\n`, t2.conf));
  const entry = JSON.parse(doc)['/a.git'] as ManifestEntry;
  const res = await pullTargets(config, [{ key: '/a.git', entry: { ...entry, fingerprint: 'b'.repeat(40) } }], { git: new Git(), log: silentLogger() });
  t.same(res.failed, [], 'a feed entry with them is worked on as an ordinary one');
  await check(t2.mirror, 'tier 2 after a feed event');
  clean(t, 'this process');
});
