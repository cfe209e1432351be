/**
 * A replica reads a sliced manifest slice by slice (shared/manifest/sliced-read.ts): whatever the
 * slices hold, it must read exactly what a whole parse of the inflated file reads, or refuse it with
 * the same error. The rows cut the JSON text at member boundaries the way no writer of ours does.
 */
import { crc32, deflateRawSync, gunzipSync, gzipSync } from 'node:zlib';
import t from 'tap';
import type { Manifest, ManifestEntry } from '../../shared/manifest/entry.js';
import { parseManifestSubset, type ParsedSubset } from '../../shared/manifest/io.js';
import { gzipManifestBody, readManifestSubset, readManifestSubsetSync } from '../../shared/manifest/sliced-read.js';
import { assemble, readLayout, sliceMember, slicedBytes } from '../../shared/manifest/sliced.js';

const fp = (c: string) => c.repeat(40);
const e = (desc: string) => `{"description":"${desc}","fingerprint":"${fp('a')}","head":"ref: refs/heads/master","modified":1,"reference":null}`;
const MAX = 1 << 20;

/** A file whose slices hold exactly these texts, in this order. */
const fileOf = (texts: readonly string[]) => Buffer.concat(assemble(texts.map((x, i) => sliceMember(x, i, texts.length, 1))));

type Outcome = { ok: true; entries: [string, ManifestEntry][]; rejected: string[]; total: number } | { ok: false; code: string };
const outcome = (f: () => ParsedSubset): Outcome => {
  try {
    const p = f();
    return { ok: true, entries: [...p.entries], rejected: p.rejected.map((r) => r.key), total: p.total };
  } catch (err) {
    return { ok: false, code: (err as { code: string }).code };
  }
};
const outcomeAsync = async (f: () => Promise<ParsedSubset>): Promise<Outcome> => {
  try {
    const p = await f();
    return { ok: true, entries: [...p.entries], rejected: p.rejected.map((r) => r.key), total: p.total };
  } catch (err) {
    return { ok: false, code: (err as { code: string }).code };
  }
};

const rows: { name: string; texts: string[]; expect: 'read' | string }[] = [
  { name: 'two ordinary slices', texts: [`"/a.git":${e('x')}`, `"/b.git":${e('y')}`], expect: 'read' },
  { name: 'a string ending exactly at the end of a slice', texts: [`"/a.git":{"description":"ab"`, `"head":"x"}`], expect: 'read' },
  { name: 'a string cut across two slices (the comma member falls inside it)', texts: [`"/a.git":{"description":"ab`, `cd"}`], expect: 'read' },
  { name: 'an escaped quote as the last bytes of a slice', texts: [`"/a.git":{"description":"ab\\"`, `cd"}`], expect: 'read' },
  { name: 'a lone backslash at the end of a slice (escapes the comma: invalid)', texts: [`"/a.git":{"description":"ab\\`, `cd"}`], expect: 'GROK_ERR_MANIFEST_PARSE' },
  { name: 'a key cut from its value', texts: [`"/a.git"`, e('x')], expect: 'GROK_ERR_MANIFEST_PARSE' },
  { name: 'a control character in an entry nobody wants', texts: [`"/a.git":${e('x')}`, `"/b.git":${e('y\u0001')}`], expect: 'GROK_ERR_MANIFEST_PARSE' },
  { name: 'a control character in a key nobody wants', texts: [`"/b\u0001.git":${e('y')}`, `"/a.git":${e('x')}`], expect: 'GROK_ERR_MANIFEST_PARSE' },
  { name: 'a slice of whitespace only', texts: [`"/a.git":${e('x')}`, '  '], expect: 'GROK_ERR_MANIFEST_PARSE' },
  { name: 'a key in two slices: the last one counts', texts: [`"/a.git":${e('first')}`, `"/a.git":${e('second')}`], expect: 'read' },
  { name: 'a bad entry wanted: refused, the rest read', texts: [`"/a.git":{"fingerprint":"nope"}`, `"/b.git":${e('y')}`], expect: 'read' },
];

const keep = (k: string) => k === '/a.git' || k === '/b.git';

t.test('a sliced manifest read slice by slice reads what a whole parse reads, at every member boundary', async (t) => {
  for (const row of rows) {
    const raw = fileOf(row.texts);
    t.ok(readLayout(raw), `${row.name}: in the sliced form`);
    const whole = outcome(() => parseManifestSubset(gunzipSync(raw), 'm', keep));
    t.equal(whole.ok ? 'read' : whole.code, row.expect, `${row.name}: a whole parse says ${row.expect}`);
    t.same(await outcomeAsync(() => readManifestSubset(gzipManifestBody(raw, MAX, 'm'), 'm', keep)), whole, `${row.name}: slice by slice, the same`);
    t.same(outcome(() => readManifestSubsetSync(gzipManifestBody(raw, MAX, 'm'), 'm', keep)), whole, `${row.name}: synchronously, the same`);
  }
});

t.test('damaged members: the same error as inflating the file whole', async (t) => {
  const good = fileOf([`"/a.git":${e('x')}`, `"/b.git":${e('y')}`]);
  const layout = readLayout(good)!;
  const second = layout.slices.get(1)!;
  const crc = Buffer.from(good);
  crc[second.end - 8]! ^= 0xff;
  const size = Buffer.from(good);
  size.writeUInt32LE(3, second.end - 4);
  const data = Buffer.from(good);
  data[second.start + 30]! ^= 0xff;
  for (const [name, raw] of [['a CRC that does not match', crc], ['a trailer claiming fewer bytes than the slice holds', size], ['flipped deflate bytes', data]] as const) {
    t.ok(readLayout(raw), `${name}: the headers still say sliced`);
    const whole = outcome(() => parseManifestSubset(gunzipSync(raw), 'm', keep));
    const got = await outcomeAsync(() => readManifestSubset(gzipManifestBody(raw, MAX, 'm'), 'm', keep));
    t.equal(got.ok, false, `${name}: refused`);
    t.equal(!got.ok && got.code, 'GROK_ERR_MANIFEST_GZIP', `${name}: as corrupt gzip data`);
    t.equal(whole.ok, false, `${name}: a whole inflate refuses it too`);
  }
});

t.test('punctuation members another writer made (read the general way), and a one-member file (streamed): the same entries', async (t) => {
  const m: Manifest = new Map();
  for (let i = 0; i < 700; i++) m.set(`/r${i}.git`, JSON.parse(e(`r${i}`)) as ManifestEntry);
  const sliced = await slicedBytes(m);
  const want = (k: string) => k.endsWith('7.git');
  const expected = outcome(() => parseManifestSubset(gunzipSync(sliced), 'm', want));
  t.equal(expected.ok && expected.entries.length, 70);
  t.notOk(Buffer.isBuffer(gzipManifestBody(sliced, MAX, 'm')), 'our own sliced file is not inflated whole');
  t.same(await outcomeAsync(() => readManifestSubset(gzipManifestBody(sliced, MAX, 'm'), 'm', want)), expected, 'our own sliced file');
  const onePiece = gzipSync(gunzipSync(sliced));
  t.same(await outcomeAsync(() => readManifestSubset(gzipManifestBody(onePiece, MAX, 'm'), 'm', want)), expected, "a one-member file (grokmirror's)");
  t.same(gzipManifestBody(onePiece, MAX, 'm'), { raw: onePiece, layout: null, maxBytes: MAX }, 'which is kept compressed, inflated as it is scanned (stream-read.ts)');
  // The `{` member with our header holding more than `{` (a stored block): the entry in it counts.
  const layout = readLayout(sliced)!;
  const first = [...layout.slices.values()].sort((x, y) => x.start - y.start)[0]!;
  const text = `{"/x7.git":${e('in the brace member')},`;
  const open = Buffer.concat([sliced.subarray(0, 28), deflateRawSync(text, { level: 0 }), Buffer.alloc(8)]);
  open.writeUInt32LE(open.length, 16);
  open.writeUInt32LE(crc32(text), open.length - 8);
  open.writeUInt32LE(text.length, open.length - 4);
  const other = Buffer.concat([open, sliced.subarray(first.start)]);
  t.ok(readLayout(other), 'still our layout');
  const theirs = outcome(() => parseManifestSubset(gunzipSync(other), 'm', want));
  t.equal(theirs.ok && theirs.entries.length, 71, 'a whole parse reads the entry in the brace member');
  t.same(await outcomeAsync(() => readManifestSubset(gzipManifestBody(other, MAX, 'm'), 'm', want)), theirs, 'and so does the replica (read whole)');
});

t.test('the size cap: a sliced file whose trailers claim more than the cap is refused before inflating', async (t) => {
  const raw = fileOf([`"/a.git":${e('x')}`, `"/b.git":${e('y')}`]);
  const got = await outcomeAsync(async () => readManifestSubset(gzipManifestBody(raw, 100, 'm'), 'm', keep));
  t.same(got, { ok: false, code: 'GROK_ERR_MANIFEST_TOO_LARGE' });
});
