/**
 * grok-origin starting from a manifest not in the sliced form (grokmirror's one gzip member) builds
 * the slices as the file inflates (slice-stream.ts): the result must be the manifest a whole-file read
 * gives, entry for entry and byte for byte, however the text is cut into chunks, and anything that
 * is not one JSON object must be left to the whole-file read (which names the problem).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import t from 'tap';
import { ChunkedManifest } from '../../../origin/server/chunked-manifest.js';
import { slicesFromText, streamSlices } from '../../../origin/server/slice-stream.js';
import { parseManifestText, type Rejected } from '../../../shared/manifest/io.js';
import { slicedBytes } from '../../../shared/manifest/sliced.js';
import { tmpDir } from '../../helpers/tmp.js';

const entry = (i: number, extra: Record<string, unknown> = {}) => ({ modified: 1600000000 + i, fingerprint: i.toString(16).padStart(40, '0'), head: 'ref: refs/heads/master', reference: null, ...extra });

/** Awkward but valid: escapes and non-ASCII in keys, braces and quotes in strings, nesting, spaces as Python writes them, a repeated key, rejected entries, a float `modified`. */
const AWKWARD = [
  '{',
  '"/pub/a.git": ', JSON.stringify(entry(1, { description: 'braces } { ] [ and "quotes" and \\ backslash' })), ', ',
  '"/pub/caf\\u00e9.git":', JSON.stringify(entry(2)), ',\n  ',
  '"/pub/café☕.git" : ', JSON.stringify(entry(3, { symlinks: ['/pub/x.git', '/pub/{y}.git'], owner: 'Ünïcode' })), ',',
  '"/pub/q\\"uote.git":', JSON.stringify(entry(4)), ',',
  '"/pub/a.git":', JSON.stringify(entry(5)), ',',
  '"../escape.git":', JSON.stringify(entry(6)), ',',
  '"/pub/bad.git": 42,',
  '"/pub/float.git":', JSON.stringify({ ...entry(7), modified: 1600000000.75 }), ',',
  ...Array.from({ length: 600 }, (_, i) => `"/pub/r${i}.git":${JSON.stringify(entry(100 + i))}${i < 599 ? ',' : ''}`),
  '}\n',
].join('');

async function* chunks(text: Buffer, size: number): AsyncIterable<Buffer> {
  for (let i = 0; i < text.length; i += size) yield text.subarray(i, i + size);
}

async function viaStream(text: string, size: number, rejected: Rejected[] = []): Promise<ChunkedManifest | null> {
  const s = await slicesFromText(chunks(Buffer.from(text, 'utf8'), size), 'test', 1 << 30, (r) => rejected.push(r));
  return s && ChunkedManifest.fromMembers(s.members, s.entries, false, () => {});
}

t.test('the same manifest as a whole-file read, however the text is cut', async (t) => {
  const whole = parseManifestText(AWKWARD, 'test');
  const expected = await slicedBytes(whole.entries);
  for (const size of [1, 2, 3, 7, 64, 1000, 1 << 20]) {
    const rejected: Rejected[] = [];
    const m = (await viaStream(AWKWARD, size, rejected))!;
    t.ok(m, `chunks of ${size}: built`);
    t.equal(m.size, whole.entries.size, `chunks of ${size}: entry count`);
    // Every key is found in the slice its hash names (the byte hash agrees with the string hash).
    for (const [k, e] of whole.entries) if (JSON.stringify(m.get(k)) !== JSON.stringify(e)) t.fail(`chunks of ${size}: ${k} differs or is missing`);
    t.same(rejected.map((r) => r.key).sort(), whole.rejected.map((r) => r.key).sort(), `chunks of ${size}: the same entries rejected`);
    t.ok(Buffer.concat(m.render().members).equals(expected), `chunks of ${size}: byte for byte the file a whole-file read writes`);
  }
  t.equal((await viaStream(AWKWARD, 5))!.get('/pub/a.git')!.modified, 1600000005, 'a repeated key: the last one counts, as in JSON.parse');
});

t.test('an empty object is an empty manifest', async (t) => {
  const m = (await viaStream(' {  } ', 1))!;
  t.equal(m.size, 0);
  t.same(JSON.parse(gunzipSync(Buffer.concat(m.render().members)).toString()), {});
});

t.test('anything but one JSON object is left to the whole-file read', async (t) => {
  for (const bad of ['[]', '"x"', '{"a":1', '{"a":1}{"b":2}', '{"a":1} x', '{,"a":1}', '{"a":1,}', '{a:1}', '', '{"a":{"b":1}']) {
    t.equal(await slicesFromText(chunks(Buffer.from(bad), 1), 'test', 1 << 30, () => {}), null, JSON.stringify(bad));
  }
  t.equal(await slicesFromText(chunks(Buffer.from(AWKWARD), 100), 'test', 1000, () => {}), null, 'over the size cap');
  t.rejects(viaStream('{"a": {x}}', 3), { code: 'GROK_ERR_MANIFEST_PARSE' }, 'bad JSON inside an entry: the parse error, as a whole-file read gives');
});

t.test('from a gzip file, and null for one that is not gzip', async (t) => {
  const dir = tmpDir(t);
  const f = path.join(dir, 'manifest.js.gz');
  writeFileSync(f, gzipSync(AWKWARD));
  const s = (await streamSlices(f, 1 << 30, () => {}))!;
  t.equal(ChunkedManifest.fromMembers(s.members, s.entries, false, () => {}).size, parseManifestText(AWKWARD, 'x').entries.size);
  writeFileSync(f, AWKWARD);
  t.equal(await streamSlices(f, 1 << 30, () => {}), null);
  t.equal(await streamSlices(path.join(dir, 'none.js.gz'), 1 << 30, () => {}), null);
});
