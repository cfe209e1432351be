/**
 * Our grok-pull mirroring an origin run by grokmirror: the manifest grokmirror's grok-manifest wrote
 * (its clone -s forks carry `reference` and no `forkgroup`: a grokmirror 1.x entry), read over file://
 * and over HTTP (a plain static server for the manifest, as grokmirror origins have, and our grok-origin
 * for git), then a push announced by grokmirror's hook (grok-manifest -n) and a second pass.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { CliResult } from '../helpers/cli.js';
import { BIN } from '../helpers/fixture.js';
import { pushCommit } from '../helpers/git.js';
import { startTestOrigin } from '../helpers/origin.js';
import { alternateOf, mirrorProblems, objstoreProblems, objstores, ownerOf, readRawManifest } from './mirror-check.js';
import { interopSuite, peerOk, replicaConf, runOurs } from './peer.js';
import { serveFiles } from './static-server.js';


/** The counts of our grok-pull's summary line ("N cloned, N updated, ..."). */
function summary(r: CliResult): Record<string, number> {
  const line = r.stderr.split('\n').find((l) => /\d+ cloned, \d+ updated/.test(l)) ?? '';
  return Object.fromEntries([...line.matchAll(/(\d+) ([a-z]+)/g)].map((m) => [m[2]!, Number(m[1])]));
}

const suite = interopSuite(t);
if (suite) {
  const { dir, c } = suite;
  const manifest = path.join(c.top, 'manifest.js.gz');
  const replicas: Record<'file' | 'http', { top: string; conf: string }> = { file: { top: '', conf: '' }, http: { top: '', conf: '' } };
  const pull = (which: keyof typeof replicas) => runOurs(BIN.pull, ['-c', replicas[which].conf, '-v']);
  const full = (k: string) => path.join(c.top, k);
  /** Problems of a replica, with those of the repositories another branch fixes set apart. */
  const problems = (which: keyof typeof replicas) => {
    const all = mirrorProblems(c.top, replicas[which].top, { keys: c.keys, symlinks: c.symlinks });
    const of = (k: string) => all.filter((p) => p.startsWith(k));
    return { rest: all.filter((p) => !p.startsWith(c.controlOwner) && !(which === 'http' && p.startsWith(c.space))), control: of(c.controlOwner), space: of(c.space) };
  };

  t.before(async () => {
    await peerOk('manifest', ['-m', manifest, '-t', c.top]);
    const m = readRawManifest(manifest);
    if (m[c.forks[0]!]?.reference !== c.upstream || 'forkgroup' in m[c.forks[0]!]!) throw new Error('expected a 1.x style entry for the clone -s fork');
    replicas.file = replicaConf(dir, 'over-file', { site: `file://${c.top}`, manifest: `file://${manifest}` }, { pull: { pull_threads: '2' } });
    // git from our grok-origin (its own manifest file, so grokmirror's stays as grokmirror wrote it)
    const origin = await startTestOrigin(t, c.top, { settings: { manifestFile: path.join(dir, 'served-by-grok-origin.js.gz') } });
    const statics = await serveFiles(t, { '/manifest.js.gz': manifest });
    replicas.http = replicaConf(dir, 'over-http', { site: origin.url, manifest: `${statics}/manifest.js.gz` }, { pull: { pull_threads: '2' } });
  });

  for (const which of ['file', 'http'] as const) {
    t.test(`over ${which}: everything mirrored; the 1.x entries cloned against one objstore`, async (t) => {
      const r = await pull(which);
      const p = problems(which);
      t.same(p.rest, [], r.stderr);
      t.same(p.control, [], 'the owner with control characters is mirrored as it is (issue 16.2)');
      t.same(p.space, [], 'the path with a space is mirrored (its clone URL percent-encoded, issue 17 item 1)');
      const mirror = replicas[which].top;
      // issue 17 item 2: grokmirror maps a reference without forkgroup to a forkgroup; the forks and
      // the repository they reference share its objstore, so only the forks' own objects travel
      const store = alternateOf(path.join(mirror, c.forks[0]!));
      t.ok(store && path.dirname(store) === path.join(mirror, 'objstore'), 'the 1.x fork borrows from an objstore');
      t.equal(alternateOf(path.join(mirror, c.forks[1]!)), store, 'the other fork of the same repository too');
      t.equal(alternateOf(path.join(mirror, c.upstream)), store, 'and the repository they reference');
      const local = readRawManifest(path.join(mirror, 'manifest.js.gz'));
      t.equal(local[c.forks[0]!]?.forkgroup, path.basename(store ?? '', '.git'), 'the local manifest names the forkgroup, as grokmirror writes it');
      t.same(objstoreProblems(path.join(mirror, 'objstore')), []);
      // issue 17 item 5: default_owner is compared with, never written
      t.equal(ownerOf(path.join(mirror, c.deep)), null, 'no gitweb.owner where the origin has none');
      t.equal(ownerOf(path.join(mirror, c.upstream)), c.nonAsciiOwner);
    });
  }

  t.test("a push announced by grokmirror's hook reaches both at their next pass", async (t) => {
    pushCommit(full(c.forks[1]!), { branch: 'later', date: 1_700_000_000 });
    pushCommit(full(c.nonAscii), { date: 1_700_000_100 });
    // a settings-only change: a new description, no new refs
    writeFileSync(path.join(full(c.deep), 'description'), 'Deep, described now\n');
    // mtime granularity: grokmirror's -n and a static server's Last-Modified are whole seconds
    await new Promise((r) => setTimeout(r, 1100));
    await peerOk('manifest', ['-n', '-m', manifest, '-t', c.top, full(c.forks[1]!), full(c.nonAscii), full(c.deep)]);
    for (const which of ['file', 'http'] as const) {
      const before = objstores(path.join(replicas[which].top, 'objstore'));
      const r = await pull(which);
      const p = problems(which);
      t.same(p.rest, [], `${which}: in sync again`);
      const s = summary(r);
      t.equal(s.updated, 2, `${which}: two repositories fetched`);
      // issue 17 item 6: the settings-only change is counted, not reported as "0 updated" after "updated /x"
      t.equal(s.fixed, 1, `${which}: the settings-only change is counted`);
      t.same(objstores(path.join(replicas[which].top, 'objstore')), before, `${which}: no new objstore on the second pass`);
    }
  });
}
