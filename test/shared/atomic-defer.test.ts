/**
 * atomicWrite with deferRemoval (grok-origin's manifest writes): the replaced file stays linked
 * under a temp name until the caller releases it, and a kill at any step leaves the manifest
 * complete (the old one before the rename, the new one after) and nothing a restart does not remove.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { atomicWrite, type AtomicStep } from '../../shared/fs/atomic.js';
import type { Manifest } from '../../shared/manifest/entry.js';
import { readManifestFile, serializeManifest, writeManifestFile } from '../../shared/manifest/io.js';
import { removeKilledManifestWrites } from '../../shared/manifest/killed-writes.js';
import { tmpDir } from '../helpers/tmp.js';

const STEPS: AtomicStep[] = ['write', 'sync', 'link-old', 'rename', 'sync-dir'];
/** Temp names on disk at each step: the new file's, then also the replaced file's link, then that link alone. */
const LEFT: Record<AtomicStep, number> = { write: 1, sync: 1, 'link-old': 1, rename: 2, 'sync-dir': 1 };

function manifest(fp: string): Manifest {
  const m: Manifest = new Map();
  for (let i = 0; i < 20; i++) m.set(`/r${i}.git`, { modified: 1600000000 + i, fingerprint: fp.repeat(40), head: 'ref: refs/heads/master', reference: null });
  return m;
}

const others = (dir: string) => readdirSync(dir).filter((n) => n !== 'manifest.js.gz' && !n.endsWith('.lock'));

t.test('the replaced file is freed only on release', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'manifest.js.gz');
  await writeManifestFile(file, manifest('a'), { pretty: false });
  const oldIno = statSync(file).ino;
  const release = await atomicWrite(file, gzipSync(serializeManifest(manifest('b'), false)), { deferRemoval: true });
  t.equal((await readManifestFile(file))!.entries.get('/r0.git')!.fingerprint, 'b'.repeat(40), 'the new manifest is in place');
  const kept = others(dir);
  t.equal(kept.length, 1, 'one temp link beside it until the release');
  t.match(kept[0], /^\.manifest\.js\.gz\.[0-9a-f]{12}\.tmp$/, 'named as a killed write\'s temp file, so a restart removes it');
  t.equal(statSync(path.join(dir, kept[0]!)).ino, oldIno, 'it is the replaced file');
  await release();
  t.same(others(dir), [], 'released: nothing left');
  // Without deferRemoval nothing is kept and the release does nothing.
  const none = await atomicWrite(file, gzipSync(serializeManifest(manifest('c'), false)));
  t.same(others(dir), [], 'a plain write keeps nothing');
  await none();
});

t.test('a first write (no file to replace) keeps nothing', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'manifest.js.gz');
  const release = await atomicWrite(file, gzipSync(serializeManifest(manifest('a'), false)), { deferRemoval: true });
  t.same(others(dir), []);
  await release();
});

for (const step of STEPS) {
  t.test(`killed before step ${step}: the manifest is whole, the acknowledged one or the new one, and a restart leaves nothing`, async (t) => {
    const dir = tmpDir(t);
    const file = path.join(dir, 'manifest.js.gz');
    // What was acknowledged: written and on disk.
    await writeManifestFile(file, manifest('a'), { pretty: false });
    let reached!: () => void;
    const atStep = new Promise<void>((r) => (reached = r));
    // The write stops for good at `step`, as a kill there would stop it (no clean-up runs).
    void atomicWrite(file, gzipSync(serializeManifest(manifest('b'), false)), {
      deferRemoval: true,
      beforeStep: (s) => (s === step ? (reached(), new Promise<void>(() => {})) : Promise.resolve()),
    });
    await atStep;
    const fp = (await readManifestFile(file))!.entries.get('/r0.git')!.fingerprint;
    const renamed = STEPS.indexOf(step) > STEPS.indexOf('rename');
    t.equal(fp, (renamed ? 'b' : 'a').repeat(40), renamed ? 'the new manifest, whole' : 'the acknowledged manifest, whole');
    t.ok(readFileSync(file).length > 0);
    t.equal(others(dir).length, LEFT[step], 'the cut write left its temp file(s)');
    // The restart: grok-origin and grok-manifest remove what a killed write left, under the lock.
    await removeKilledManifestWrites(file);
    t.same(others(dir), [], 'nothing left after the restart');
    t.equal((await readManifestFile(file))!.entries.size, 20);
  });
}
