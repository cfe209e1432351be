/**
 * A one-member gzip manifest (grokmirror's) is inflated in chunks while the chunks that arrived are
 * scanned (shared/manifest/stream-read.ts). Whatever the chunks' ends cut (an entry, a key, a string,
 * an escape, a number), it must read exactly what a whole parse of the inflated file reads, or refuse
 * it with the same error, and return nothing before the file's last byte is checked.
 */
import { crc32, gunzipSync, gzipSync } from 'node:zlib';
import t from 'tap';
import type { ManifestEntry } from '../../shared/manifest/entry.js';
import { gunzipCapped } from '../../shared/manifest/inflate.js';
import { parseManifestSubset, SubsetReader, type ParsedSubset } from '../../shared/manifest/io.js';
import { gzipManifestBody, readManifestSubset } from '../../shared/manifest/sliced-read.js';
import { PieceScanner, streamManifestSubset } from '../../shared/manifest/stream-read.js';

const e = (desc: string) => `{"description":"${desc}","fingerprint":"${'a'.repeat(40)}","head":"ref: refs/heads/master","modified":1,"reference":null}`;
const MAX = 1 << 20;
const keep = (k: string) => k === '/a.git' || k === '/b.git' || k === '/é.git' || k === '/a"b.git';

type Outcome = { ok: true; entries: [string, ManifestEntry][]; rejected: string[]; total: number } | { ok: false; code: string; message: string };
const settle = async (f: () => ParsedSubset | Promise<ParsedSubset>): Promise<Outcome> => {
  try {
    const p = await f();
    return { ok: true, entries: [...p.entries], rejected: p.rejected.map((r) => r.key), total: p.total };
  } catch (err) {
    return { ok: false, code: (err as { code: string }).code, message: (err as Error).message };
  }
};
const wholeOf = (text: string | Buffer) => settle(() => parseManifestSubset(Buffer.from(text), 'm', keep));

/** The text given to the scanner in pieces cut at `cuts`: what it read, or null when it gave up. */
function pieces(text: Buffer, cuts: number[]): ParsedSubset | null {
  const subset = new SubsetReader(keep);
  const scanner = new PieceScanner(subset);
  let at = 0;
  for (const c of [...cuts, text.length]) {
    if (!scanner.push(text.subarray(at, c))) return null;
    at = c;
  }
  return scanner.done() ? subset.result() : null;
}

const good: [string, string][] = [
  ['two entries', `{"/a.git": ${e('x')}, "/b.git": ${e('y')}}`],
  ['whitespace everywhere', ` \n{ "/a.git" :\t${e('x')} ,\r\n "/c.git" : ${e('z')} } \n`],
  ['escapes in keys and strings', `{"\\/a.git": ${e('q\\"uote\\\\ back \\u00e9 \\n')}, "/a\\"b.git": ${e('k')}, "/c\\u0041.git": 1}`],
  ['non-ASCII keys and values', `{"/é.git": ${e('ünï ✓')}, "/b.git": ${e('日本')}}`],
  ['scalars, arrays and nesting as values', `{"/x.git": 12345.5e-3, "/y.git": [true, false, null, {"k": [1, -2]}], "/a.git": {"fingerprint": "nope"}, "/z.git": "s"}`],
  ['a key given twice: the last counts', `{"/a.git": ${e('first')}, "/a.git": ${e('second')}}`],
  ['an empty manifest', ' {} '],
];
const bad: [string, string][] = [
  ['a control character in a string nobody wants', `{"/a.git": ${e('x')}, "/c.git": ${e('y\u0001')}}`],
  ['a bad escape', `{"/c.git": ${e('\\q')}}`],
  ['a short \\u escape', `{"/c.git": ${e('\\u12')}}`],
  ['a lone backslash before the closing quote', `{"/c.git": "ab\\"}`],
  ['a trailing comma', `{"/a.git": ${e('x')},}`],
  ['a missing comma', `{"/a.git": ${e('x')} "/b.git": 1}`],
  ['a key with no colon', `{"/a.git" ${e('x')}}`],
  ['a bad word', `{"/a.git": tru}`],
  ['a bad number', `{"/a.git": 01}`],
  ['data after the object', `{"/a.git": ${e('x')}} x`],
  ['a second closing brace', `{"/a.git": 1}}`],
  ['cut off', `{"/a.git": ${e('x')}`],
  ['an array', `[1, 2]`],
  ['a string', `"x"`],
  ['nothing but whitespace', `  `],
  ['a non-string key', `{1: 2}`],
];

t.test('cut at every byte: the pieces read what a whole parse reads, and give up wherever a whole parse refuses', async (t) => {
  for (const [name, text] of [...good, ...bad]) {
    const b = Buffer.from(text);
    const whole = await wholeOf(b);
    const isGood = good.some(([n]) => n === name);
    t.equal(whole.ok, isGood, `${name}: a whole parse ${isGood ? 'reads' : 'refuses'} it`);
    for (let c = 0; c <= b.length; c++) {
      const got = pieces(b, [c]);
      if (!isGood) {
        t.equal(got, null, `${name}: cut at ${c}: gives up`);
        continue;
      }
      t.same(await settle(() => got ?? Promise.reject(new Error('gave up'))), whole, `${name}: cut at ${c}: the same`);
    }
    // Three pieces, every second cut a few bytes after the first: an entry spanning a whole piece.
    for (let c = 0; c + 3 <= b.length; c += 3) {
      const got = pieces(b, [c, c + 3]);
      if (isGood) t.same(await settle(() => got ?? Promise.reject(new Error('gave up'))), whole, `${name}: cut at ${c} and ${c + 3}`);
      else t.equal(got, null, `${name}: cut at ${c} and ${c + 3}: gives up`);
    }
  }
});

t.test('through zlib: one member in tiny chunks, read as whole parse reads it or refused with its error', async (t) => {
  for (const [name, text] of [...good, ...bad]) {
    const raw = gzipSync(text);
    const whole = await settle(() => parseManifestSubset(gunzipSync(raw), 'm', keep));
    for (const chunk of [64, 1024]) {
      const streamed = await streamManifestSubset(raw, MAX, keep, chunk);
      if (whole.ok) t.same(await settle(() => streamed!), whole, `${name}: chunks of ${chunk}: the same`);
      else t.equal(streamed, null, `${name}: chunks of ${chunk}: gives up`);
    }
    t.same(await settle(() => readManifestSubset(gzipManifestBody(raw, MAX, 'm'), 'm', keep)), whole, `${name}: the replica's reader: the same outcome, the same words`);
  }
});

t.test('a manifest of many chunks, and members another writer cut anywhere', async (t) => {
  const entries = Array.from({ length: 3000 }, (_, i) => `"/r${i}.git": ${e(`r${i} \\u00e9 \\"q\\"`)}`);
  const text = Buffer.from(`{${entries.join(', ')}, "/a.git": ${e('a')}}`);
  const many = (k: string) => k.endsWith('7.git') || keep(k);
  const whole = await settle(() => parseManifestSubset(text, 'm', many));
  t.equal(whole.ok && whole.entries.length, 301);
  const one = gzipSync(text);
  t.notOk(Buffer.isBuffer(gzipManifestBody(one, MAX, 'm')), 'a one-member file is not inflated when fetched');
  for (const chunk of [777, 64 * 1024]) t.same(await settle(async () => (await streamManifestSubset(one, MAX, many, chunk))!), whole, `one member in chunks of ${chunk}`);
  // Members cut at arbitrary bytes (inside a key, a string, an escape): a gzip reader joins them.
  const cuts = [0, 5, 1000, 1001, 50_000, 123_457, text.length];
  const multi = Buffer.concat(cuts.slice(1).map((c, i) => gzipSync(text.subarray(cuts[i], c))));
  t.same(await settle(() => readManifestSubset(gzipManifestBody(multi, MAX, 'm'), 'm', many)), whole, 'members cut anywhere');
});

t.test('the size cap: exactly at it read; one byte over refused with the whole read\'s error', async (t) => {
  const text = `{"/a.git": ${e('x')}}`;
  const cap = 4096;
  const at = text + ' '.repeat(cap - text.length);
  const got = await settle(() => readManifestSubset(gzipManifestBody(gzipSync(at), cap, 'm'), 'm', keep));
  t.equal(got.ok && got.entries.length, 1, 'exactly the cap: read');
  const over = await settle(() => readManifestSubset(gzipManifestBody(gzipSync(at + ' '), cap, 'm'), 'm', keep));
  t.same(over, { ok: false, code: 'GROK_ERR_MANIFEST_TOO_LARGE', message: `m: inflates to more than ${cap} bytes (the manifest size cap); refusing it` }, 'one byte over: refused');
  t.equal(await streamManifestSubset(gzipSync(at + ' '), cap, keep, 256), null, 'the streaming read gives up at the cap');
  // A bomb: the stream stops at the cap rather than inflating it all.
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
  t.same(await settle(() => readManifestSubset(gzipManifestBody(bomb, cap, 'm'), 'm', keep)), { ok: false, code: 'GROK_ERR_MANIFEST_TOO_LARGE', message: `m: inflates to more than ${cap} bytes (the manifest size cap); refusing it` });
});

t.test('damage found only at the end (CRC, size, trailing bytes): refused as a whole read refuses it, nothing returned', async (t) => {
  const entries = Array.from({ length: 2000 }, (_, i) => `"/r${i}.git": ${e(`r${i}`)}`);
  const text = `{"/a.git": ${e('a')}, ${entries.join(', ')}}`;
  const good = gzipSync(text);
  const crc = Buffer.from(good);
  crc.writeUInt32LE((crc32(text) ^ 1) >>> 0, crc.length - 8);
  const size = Buffer.from(good);
  size.writeUInt32LE(text.length + 1, size.length - 4);
  const cases: [string, Buffer][] = [
    ['a CRC that does not match', crc],
    ['a size that does not match', size],
    ['trailing garbage', Buffer.concat([good, Buffer.from('xyz')])],
    ['a truncated trailer', good.subarray(0, good.length - 3)],
    ['a second member with more text', Buffer.concat([good, gzipSync(' x')])],
  ];
  for (const [name, raw] of cases) {
    const whole = await settle(() => parseManifestSubset(gunzipCapped(raw, MAX, 'm'), 'm', keep));
    t.equal(whole.ok, false, `${name}: a whole read refuses it`);
    let seen = 0;
    const counting = (k: string) => (seen++, keep(k));
    t.equal(await streamManifestSubset(raw, MAX, counting, 4096), null, `${name}: the streaming read returns nothing`);
    t.ok(seen > 1000, `${name}: though it had scanned the entries before the end (${seen})`);
    t.same(await settle(() => readManifestSubset(gzipManifestBody(raw, MAX, 'm'), 'm', keep)), whole, `${name}: the replica's reader refuses it with the same error`);
  }
  const second = Buffer.concat([good, gzipSync(' \n')]);
  t.same(await settle(() => readManifestSubset(gzipManifestBody(second, MAX, 'm'), 'm', keep)), await wholeOf(text), 'a second member of whitespace: read');
});

t.test('keys are decoded as JSON.parse decodes them: plain ASCII, escapes, non-ASCII, DEL', async (t) => {
  const keys = ['/a.git', '/\\u0061.git', '/\\/x.git', '/é.git', '/ü\\u00fc.git', '/日本/x.git', '/del\u007f.git', '/q\\".git', '/ascii~!*().git', ''];
  const text = `{${keys.map((k, i) => `"${k}": ${i}`).join(', ')}}`;
  const seen: string[] = [];
  parseManifestSubset(Buffer.from(text), 'm', (k) => (seen.push(k), false));
  t.same(seen, keys.map((k) => JSON.parse(`"${k}"`) as string));
});
