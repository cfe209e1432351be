/**
 * The size cap holds for each slice of a sliced manifest: a member's trailer only claims a size, so
 * a slice that inflates past manifest_max_size is refused while inflating, and nothing is acted on.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Manifest, ManifestEntry } from '../../shared/manifest/entry.js';
import { assemble, inflateSlice, readLayout, sliceMember, sliceOf, sliceText } from '../../shared/manifest/sliced.js';
import { makeRepo, pushCommit } from '../helpers/git.js';
import { runM } from '../helpers/manifest.js';
import { tmpDir } from '../helpers/tmp.js';

const entry = (i: number): ManifestEntry => ({ fingerprint: i.toString(16).padStart(40, '0'), head: 'ref: refs/heads/master', modified: 1_600_000_000 + i, reference: null, description: `repo ${i}` });
const CAP = 64 * 1024;

t.test('inflateSlice: a slice inflating past the cap is refused; one exactly at it is read', async (t) => {
  const text = `"/a.git":${JSON.stringify(entry(1))}`;
  const at = text + ' '.repeat(CAP - Buffer.byteLength(text));
  const member = sliceMember(at, 0, 1, 1);
  const ref = { index: 0, entries: 1, start: 0, end: member.length };
  t.equal(inflateSlice(member, ref, CAP).length, CAP, 'exactly the cap: read');
  const over = sliceMember(at + ' ', 0, 1, 1);
  t.throws(
    () => inflateSlice(over, { ...ref, end: over.length }, CAP, 'm.js.gz'),
    { name: 'GrokError', code: 'GROK_ERR_MANIFEST_TOO_LARGE', message: /m\.js\.gz: slice 0 inflates to more than 65536 bytes/ },
    'one byte over: refused with the manifest-too-large error',
  );
});

t.test('grok-manifest on a sliced file with a slice that inflates past the cap: refused, the file left as it was', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'a.git'));
  await runM(top, path.join(dir, 'seed.js.gz'));
  const m: Manifest = new Map();
  for (let i = 0; i < 600; i++) m.set(`/other/o${i}.git`, entry(i));
  const count = 3;
  const slices: [string, ManifestEntry][][] = [[], [], []];
  for (const [k, e] of m) slices[sliceOf(k, count)]!.push([k, e]);
  slices[sliceOf('/a.git', count)]!.push(['/a.git', entry(9999)]);
  // The slice holding /a.git pads its text with whitespace (valid JSON) to twice the cap; the file
  // on disk stays small, as a gzip bomb does.
  const members = slices.map((s, i) => sliceMember(sliceText(s) + (i === sliceOf('/a.git', count) ? ' '.repeat(2 * CAP) : ''), i, count, s.length));
  const f = path.join(dir, 'manifest.js.gz');
  writeFileSync(f, Buffer.concat(assemble(members)));
  t.ok(readLayout(readFileSync(f)), 'the file is in the sliced form');
  t.ok(readFileSync(f).length < CAP, 'and smaller than the cap on disk');
  const before = readFileSync(f);
  pushCommit(path.join(top, 'a.git'), { date: 1_750_000_000 });
  await t.rejects(runM(top, f, { paths: [path.join(top, 'a.git')], maxBytes: CAP }), { code: 'GROK_ERR_MANIFEST_TOO_LARGE' }, 'refused with the manifest-too-large error');
  t.same(readFileSync(f), before, 'the manifest is left exactly as it was');
});
