/**
 * grok-origin on a manifest in the sliced form: it starts by taking the slices as they are, serves
 * the file's bytes, checks every entry in the background (a bad one is dropped and its slice alone
 * written again), and a push recompresses only the slice of the repository pushed to.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import t from 'tap';
import type { Manifest, ManifestEntry } from '../../../shared/manifest/entry.js';
import { readLayout, sliceOf, slicedBytes, type SlicedLayout } from '../../../shared/manifest/sliced.js';
import { makeRepo, pushCommit } from '../../helpers/git.js';
import { startTestOrigin } from '../../helpers/origin.js';
import { tmpDir } from '../../helpers/tmp.js';

const entry = (i: number): ManifestEntry => ({ fingerprint: i.toString(16).padStart(40, '0'), head: 'ref: refs/heads/master', modified: 1_600_000_000 + i, reference: null, description: `repo ${i}` });

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!ok()) throw new Error(`timed out waiting for ${what}`);
}

const members = (b: Buffer, l: SlicedLayout) => new Map([...l.slices].map(([i, r]) => [i, b.subarray(r.start, r.end)]));
const changedSlices = (a: Buffer, b: Buffer) => {
  const [ma, mb] = [members(a, readLayout(a)!), members(b, readLayout(b)!)];
  return [...new Set([...ma.keys(), ...mb.keys()])].filter((i) => !ma.get(i)?.equals(mb.get(i) ?? Buffer.alloc(0)));
};

t.test('a sliced manifest: taken as it is at start, a bad entry dropped by the background check, a push recompresses one slice', async (t) => {
  const top = path.join(tmpDir(t), 'top');
  makeRepo(path.join(top, 'a.git'));
  const file = path.join(top, 'manifest.js.gz');
  const m: Manifest = new Map();
  for (let i = 0; i < 1500; i++) m.set(`/synthetic/r${i}.git`, entry(i));
  m.set('/bad.git', { ...entry(0), fingerprint: 'not hex' });
  writeFileSync(file, await slicedBytes(m));
  const original = readFileSync(file);
  t.equal(readLayout(original)!.count, 6, 'ceil(1501 / 256) slices');

  const origin = await startTestOrigin(t, top);
  const served = await origin.app.inject({ url: '/manifest.js.gz' });
  t.same(served.rawPayload, original, 'the file is served as it is');
  await until('the check to write the bad slice again', () => !gunzipSync(readFileSync(file)).includes('/bad.git'));
  const checked = readFileSync(file);
  t.same(changedSlices(original, checked), [sliceOf('/bad.git', 6)], 'only the slice that held the bad entry was written again');
  const doc = JSON.parse(gunzipSync(checked).toString('utf8')) as Record<string, ManifestEntry>;
  t.equal(Object.keys(doc).length, 1500, 'every good entry kept');
  t.same(doc['/synthetic/r1234.git'], entry(1234));
  t.equal(origin.store.size, 1500);

  pushCommit(path.join(top, 'a.git'));
  const n = await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/a.git'] } });
  t.equal(n.statusCode, 200, n.payload);
  const pushed = readFileSync(file);
  t.equal(changedSlices(checked, pushed).length, 1, 'a push recompresses one slice');
  const after = JSON.parse(gunzipSync(pushed).toString('utf8')) as Record<string, ManifestEntry>;
  t.equal(Object.keys(after).length, 1501);
  t.equal(after['/a.git']!.fingerprint, readFileSync(path.join(top, 'a.git/grokmirror.fingerprint'), 'utf8'));
  t.same(origin.store.get('/synthetic/r7.git'), entry(7), 'an entry read back from its slice');
  t.equal(origin.store.get('/bad.git'), undefined);
});
