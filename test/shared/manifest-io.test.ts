import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import type { Manifest, ManifestEntry } from '../../shared/manifest/entry.js';
import { decodeManifest, parseManifestSubset, parseManifestText, readManifestFile, serializeManifest, writeManifestFile } from '../../shared/manifest/io.js';
import { tmpDir } from '../helpers/tmp.js';

const entry = (i: number) => ({ modified: 1600000000 + i, fingerprint: i.toString(16).padStart(40, '0'), head: 'ref: refs/heads/master', reference: null });

function sample(n: number): Manifest {
  const m: Manifest = new Map();
  for (let i = 0; i < n; i++) m.set(`/pub/r${i}.git`, entry(i));
  return m;
}

t.test('gzip by suffix: round trip, atomic replace, umask-respecting mode', async (t) => {
  const dir = tmpDir(t);
  const m = sample(50);
  m.get('/pub/r1.git')!.description = 'café ☕';
  for (const name of ['manifest.js.gz', 'manifest.js', 'gz.manifest.js']) {
    const f = path.join(dir, name);
    await writeManifestFile(f, m, { pretty: false });
    const raw = readFileSync(f);
    t.equal(raw[0] === 0x1f && raw[1] === 0x8b, name.endsWith('.gz'), `${name}: gzip only for a .gz suffix`);
    const back = await readManifestFile(f);
    t.same([...back!.entries], [...m], `${name} round-trips`);
    t.equal(statSync(f).mode & 0o777, 0o666 & ~process.umask(), 'mode is 0666 & ~umask');
  }
  t.same(readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'no temp files left');
  t.equal(await readManifestFile(path.join(dir, 'missing.js')), null, 'a missing manifest reads as null');
});

t.test('pretty mode is indent 2 with sorted keys at both levels', async (t) => {
  const m: Manifest = new Map<string, ManifestEntry>([['/b.git', { ...entry(2), owner: 'o' }], ['/a.git', entry(1)]]);
  const text = serializeManifest(m, true);
  t.match(text, /^\{\n {2}"\/a\.git": \{\n {4}"fingerprint"/);
  t.ok(text.indexOf('"/a.git"') < text.indexOf('"/b.git"'));
  t.ok(text.indexOf('"head"') < text.indexOf('"modified"'));
});

t.test('whole-document problems are clear errors', async (t) => {
  const cases: [string, Buffer, boolean, string, RegExp][] = [
    ['invalid JSON', Buffer.from('{"/a.git": '), false, 'GROK_ERR_MANIFEST_PARSE', /m: not valid JSON/],
    ['an array', Buffer.from('[1,2]'), false, 'GROK_ERR_MANIFEST_SHAPE', /found an array/],
    ['null', Buffer.from('null'), false, 'GROK_ERR_MANIFEST_SHAPE', /found null/],
    ['not gzip', Buffer.from('{}'), true, 'GROK_ERR_MANIFEST_GZIP', /not gzip data/],
    ['truncated gzip', gzipSync(Buffer.from(JSON.stringify({ '/a.git': entry(1) }))).subarray(0, 30), true, 'GROK_ERR_MANIFEST_GZIP', /truncated/],
  ];
  for (const [name, data, gzip, code, msg] of cases) {
    t.throws(() => decodeManifest(data, 'm', { gzip }), { code, message: msg }, name);
  }
});

t.test('deeply nested JSON is handled: rejected as a document or as an entry, never a crash', async (t) => {
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  t.throws(() => decodeManifest(Buffer.from(deep(200000)), 'm', { gzip: false }), { code: /GROK_ERR_MANIFEST_(PARSE|SHAPE)/ });
  const res = decodeManifest(Buffer.from(`{"/a.git": ${deep(200000)}}`), 'm', { gzip: false });
  t.same(res.rejected, [{ key: '/a.git', why: 'entry is not an object' }]);
});

t.test('multi-member gzip files are read whole', async (t) => {
  const text = JSON.stringify({ '/a.git': entry(1), '/b.git': entry(2) });
  const cut = text.indexOf('"/b.git"');
  const members = Buffer.concat([gzipSync(text.slice(0, cut)), gzipSync(text.slice(cut))]);
  t.same([...decodeManifest(members, 'm', { gzip: true }).entries.keys()], ['/a.git', '/b.git']);
});

t.test('a gzip bomb stops at the size cap without inflating it all', async (t) => {
  const bomb = gzipSync(Buffer.alloc(256 * 1024 * 1024, 0x20), { level: 9 });
  t.ok(bomb.length < 1024 * 1024, `bomb is ${bomb.length} bytes compressed`);
  const before = process.memoryUsage().rss;
  t.throws(() => decodeManifest(bomb, 'bomb.js.gz', { gzip: true, maxBytes: 8 * 1024 * 1024 }), {
    code: 'GROK_ERR_MANIFEST_TOO_LARGE',
    message: /inflates to more than 8388608 bytes/,
  });
  t.ok(process.memoryUsage().rss - before < 128 * 1024 * 1024, 'memory stayed bounded');
  const plain = Buffer.alloc(2048, 0x20);
  t.throws(() => decodeManifest(plain, 'p', { gzip: false, maxBytes: 1024 }), { code: 'GROK_ERR_MANIFEST_TOO_LARGE' });
});

t.test('bad entries are set aside with reasons, good ones kept', async (t) => {
  const doc = {
    '/good.git': entry(1),
    '/../../etc': entry(2),
    'relative.git': entry(3),
    '/nofp.git': { modified: 1, head: null },
    '/evilhead.git': { ...entry(4), head: 'ref: ../../HEAD' },
    __proto__: entry(5),
  };
  const text = JSON.stringify(doc).replace('"/good.git"', '"__proto__":{"fingerprint":"x"},"/good.git"');
  const res = decodeManifest(Buffer.from(text), 'm', { gzip: false });
  t.same([...res.entries.keys()], ['/good.git']);
  t.same(res.rejected.map((r) => r.key).sort(), ['/../../etc', '/evilhead.git', '/nofp.git', '__proto__', 'relative.git']);
  t.equal(Object.getPrototypeOf({}), Object.prototype, 'no prototype pollution');
});

t.test('a write that fails leaves the old file and no temp file', async (t) => {
  const dir = tmpDir(t);
  const f = path.join(dir, 'manifest.js');
  writeFileSync(f, '{"old": true}');
  await t.rejects(writeManifestFile(path.join(dir, 'nodir', 'm.js'), sample(1), { pretty: false }), { code: 'GROK_ERR_WRITE', message: /ENOENT/ });
  t.equal(readFileSync(f, 'utf8'), '{"old": true}');
  t.same(readdirSync(dir), ['manifest.js']);
});

t.test('parseManifestSubset: only the kept entries built, checked as a whole parse checks them; the whole document still checked', async (t) => {
  const doc = {
    '/keep/a.git': { ...entry(1), description: 'é ☕ "q"', extra: { nested: [1, { x: null }] } },
    '/skip/b.git': entry(2),
    '/keep/nofp.git': { modified: 1, head: null },
    '/skip/nofp.git': { modified: 1, head: null },
    '/keep/../x.git': entry(3),
    '/keep/c\u00e9\u2603.git': entry(4),
  };
  const text = JSON.stringify(doc);
  const keep = (k: string) => k.startsWith('/keep/');
  const sub = parseManifestSubset(Buffer.from(text), 'm', keep);
  const whole = parseManifestText(text, 'm');
  t.equal(sub.total, 6, 'every entry counted');
  t.same([...sub.entries], [...whole.entries].filter(([k]) => keep(k)), 'the kept entries exactly as a whole parse has them, in order');
  t.same(sub.rejected, whole.rejected.filter((r) => keep(r.key)), 'refusals of kept entries with the same reasons');
  t.same(parseManifestSubset(Buffer.from(text), 'm', () => false), { entries: new Map(), rejected: [], total: 6 }, 'nothing kept: nothing built');
  // a key given twice: the last value counts, as with JSON.parse, whichever of the two is bad
  const dup = (first: string, last: string) => parseManifestSubset(Buffer.from(`{"/a.git": ${first}, "/a.git": ${last}}`), 'm', () => true);
  const good = JSON.stringify(entry(1));
  const bad = '{"modified": 1}';
  t.same([[...dup(bad, good).entries.keys()], dup(bad, good).rejected], [['/a.git'], []], 'a bad value then a good one: the good one');
  t.same([[...dup(good, bad).entries.keys()], dup(good, bad).rejected.map((r) => r.key)], [[], ['/a.git']], 'a good value then a bad one: refused');
  // escaped keys are decoded before they are matched
  t.same([...parseManifestSubset(Buffer.from(`{"\\/keep\\/e.git": ${good}}`), 'm', keep).entries.keys()], ['/keep/e.git']);
  // bad JSON in an entry nobody keeps still refuses the whole manifest, as a whole parse does
  const broken = `{"/keep/a.git": ${good}, "/skip/b.git": {"fingerprint": "x",}}`;
  t.throws(() => parseManifestSubset(Buffer.from(broken), 'm', keep), { code: 'GROK_ERR_MANIFEST_PARSE', message: /^m: not valid JSON/ });
  t.throws(() => parseManifestText(broken, 'm'), { code: 'GROK_ERR_MANIFEST_PARSE' });
  for (const [shape, code, message] of [
    ['[]', 'GROK_ERR_MANIFEST_SHAPE', 'm: expected a JSON object keyed by repository path, found an array'],
    [' null', 'GROK_ERR_MANIFEST_SHAPE', 'm: expected a JSON object keyed by repository path, found null'],
    ['"x"', 'GROK_ERR_MANIFEST_SHAPE', 'm: expected a JSON object keyed by repository path, found string'],
    ['3', 'GROK_ERR_MANIFEST_SHAPE', 'm: expected a JSON object keyed by repository path, found number'],
    ['\u0001\u00ff', 'GROK_ERR_MANIFEST_PARSE', /^m: not valid JSON/],
    ['', 'GROK_ERR_MANIFEST_PARSE', /^m: not valid JSON/],
  ] as const) {
    t.throws(() => parseManifestSubset(Buffer.from(shape), 'm', keep), { code, message }, `${JSON.stringify(shape)}: as a whole parse words it`);
  }
  t.throws(() => parseManifestSubset(Buffer.from(`{"/a.git": ${good}} x`), 'm', keep), { code: 'GROK_ERR_MANIFEST_PARSE' }, 'data after the object');
  t.same(parseManifestSubset(Buffer.from(' {} '), 'm', keep), { entries: new Map(), rejected: [], total: 0 }, 'an empty manifest');
});
