/**
 * A replica of a few repositories out of a 1M-entry manifest (issue 19), `npm run test:scale`: the
 * manifest (gzip, generated) is served over HTTP on 127.0.0.1, the repositories come from a local
 * origin toplevel. The replica must mirror exactly the wanted repositories, purge only the one that
 * left the manifest, and keep every mirror planted beforehand that must survive: one `nopurge`
 * protects, one whose entry is refused (held back: never purged, though `include` does not want it,
 * so the pass must build and check that entry too). Then a push to one wanted repository, and a
 * pass that fetches just it. Every repository ends with git fsck.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { readFingerprintFile } from '../../shared/repo/fingerprint-file.js';
import { writeManifestFile } from '../../shared/manifest/io.js';
import type { ManifestEntry } from '../../shared/manifest/entry.js';
import { fsckOk, git, GIT_ENV } from '../helpers/git.js';
import { readM } from '../helpers/manifest.js';
import { pull, replicaConfig } from '../helpers/replica.js';
import { tmpDir } from '../helpers/tmp.js';
import { serveFiles } from '../interop/static-server.js';
import { makeSeed } from '../bench/gen.js';

const ENTRIES = Number(process.env.GROK_SCALE_ENTRIES ?? 1_000_000);
const WANTED = ['/real/a.git', '/real/b.git', '/real/sub/c.git'];
const refsOf = (repo: string) => git([`--git-dir=${repo}`, 'for-each-ref', '--format=%(objectname) %(refname)']);

/** Every bare repository under `top` (a directory with HEAD and objects), as keys. */
function reposUnder(top: string, rel = ''): string[] {
  const out: string[] = [];
  for (const d of readdirSync(path.join(top, rel), { withFileTypes: true })) {
    if (!d.isDirectory() || d.name.startsWith('.') || d.name === 'objstore') continue;
    const r = path.join(rel, d.name);
    if (existsSync(path.join(top, r, 'HEAD')) && existsSync(path.join(top, r, 'objects'))) out.push(`/${r}`);
    else out.push(...reposUnder(top, r));
  }
  return out.sort();
}

t.test(`a replica wanting ${WANTED.length} repositories of a ${ENTRIES}-entry manifest`, async (t) => {
  const dir = tmpDir(t);
  const origin = path.join(dir, 'origin');
  const seed = path.join(dir, 'seed.git');
  const commits = makeSeed(seed, 20);
  const entryOf = (repo: string): ManifestEntry => ({
    fingerprint: readFingerprintFile(repo) ?? execFileSync('sh', ['-c', `git --git-dir=${repo} show-ref | sha1sum | cut -c1-40`], { env: GIT_ENV, encoding: 'utf8' }).trim(),
    head: 'ref: refs/heads/master',
    modified: 1_700_000_000,
    reference: null,
    description: `Real ${repo}`,
  });
  for (const k of WANTED) execFileSync('git', ['clone', '-q', '--bare', seed, path.join(origin, k)], { env: GIT_ENV });

  // The synthetic million: no repositories behind them; one of them (/held/refused.git) is bad.
  let synthetic = '';
  for (let i = 0; i < ENTRIES - WANTED.length - 1; i++) {
    synthetic += `${JSON.stringify(`/pub/scm/u${i % 1000}/r${i}.git`)}:{"fingerprint":"${(i * 2654435761 >>> 0).toString(16).padStart(40, '0')}","head":"ref: refs/heads/master","modified":${1_600_000_000 + i},"reference":null,"owner":"User ${i}"},`;
  }
  synthetic += '"/held/refused.git":{"head":"ref: refs/heads/master","modified":1,"reference":null}';
  const manifest = path.join(dir, 'manifest.js.gz');
  let mtime = 1_700_000_000;
  const publish = () => {
    const real = WANTED.map((k) => `${JSON.stringify(k)}:${JSON.stringify(entryOf(path.join(origin, k)))}`).join(',');
    writeFileSync(manifest, gzipSync(`{${real},${synthetic}}`, { level: 1 }));
    mtime += 10;
    utimesSync(manifest, mtime, mtime);
  };
  publish();
  const url = await serveFiles(t, { '/manifest.js.gz': manifest });

  // What the replica holds before: mirrors planted, and its local manifest naming two of them.
  const mirror = path.join(dir, 'mirror');
  const plant = (k: string) => execFileSync('git', ['clone', '-q', '--bare', seed, path.join(mirror, k)], { env: GIT_ENV });
  for (const k of ['/kept/nopurge.git', '/held/refused.git', '/real/gone.git']) plant(k);
  const held = (k: string) => ({ ...entryOf(path.join(mirror, k)), description: 'held' });
  mkdirSync(mirror, { recursive: true });
  await writeManifestFile(path.join(mirror, 'manifest.js.gz'), new Map([['/held/refused.git', held('/held/refused.git')], ['/real/gone.git', held('/real/gone.git')]]), { pretty: false });
  const before = Object.fromEntries(['/kept/nopurge.git', '/held/refused.git'].map((k) => [k, refsOf(path.join(mirror, k))]));

  const config = replicaConfig(mirror, origin, 'include = /real/*\nnopurge = /kept/*\npurge = yes\npurgeprotect = 50\n', `${url}/manifest.js.gz`);
  const first = await pull(config);
  t.same(first.cloned.sort(), WANTED, 'exactly the wanted repositories are cloned');
  t.same(first.purged, ['/real/gone.git'], 'only the repository that left the manifest is purged');
  t.same(first.failed, [], 'nothing failed (a refused entry include does not want is logged, not counted)');
  t.equal(first.purgeRefused, null);
  t.same(reposUnder(mirror), ['/held/refused.git', '/kept/nopurge.git', ...WANTED].sort(), 'nothing else on disk: none of the million, nothing purged that must stay');
  for (const [k, refs] of Object.entries(before)) t.equal(refsOf(path.join(mirror, k)), refs, `${k} is untouched`);
  const local = await readM(path.join(mirror, 'manifest.js.gz'));
  t.same(Object.keys(local).sort(), ['/held/refused.git', ...WANTED].sort(), 'the local manifest: the wanted ones, and the held-back entry as it was');
  t.equal(local['/held/refused.git']!.description, 'held');

  // A push to one wanted repository: the next pass fetches it and nothing else.
  const pushed = path.join(origin, WANTED[1]!);
  execFileSync('git', [`--git-dir=${pushed}`, 'update-ref', 'refs/heads/master', commits[5]!], { env: GIT_ENV });
  execFileSync('git', [`--git-dir=${pushed}`, 'update-ref', 'refs/heads/topic', commits[3]!], { env: GIT_ENV });
  publish();
  const second = await pull(config);
  t.same([second.cloned, second.updated, second.purged], [[], [WANTED[1]], []], 'one fetch, no purge');
  for (const k of WANTED) {
    t.equal(refsOf(path.join(mirror, k)), refsOf(path.join(origin, k)), `${k}: the origin's refs`);
    t.ok(fsckOk(path.join(mirror, k)).ok, `${k}: git fsck`);
  }
  for (const k of Object.keys(before)) t.ok(fsckOk(path.join(mirror, k)).ok, `${k}: git fsck`);
  t.ok(statSync(path.join(mirror, 'manifest.js.gz')).size < 4096, 'the local manifest holds what we mirror, not the million');
});
