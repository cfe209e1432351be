import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import t from 'tap';
import { looksPretty, spliceEntries } from '../../shared/manifest/splice.js';
import { scanManifest } from '../../shared/manifest/scan.js';
import { readLayout } from '../../shared/manifest/sliced.js';
import { fsckOk, makeRepo, pushCommit } from '../helpers/git.js';
import { readM, runM } from '../helpers/manifest.js';
import { tmpDir } from '../helpers/tmp.js';

const other = (i: number) => ({ description: `other ${i} \u00e9 "q"`, fingerprint: String(i).repeat(40).slice(0, 40), head: 'ref: refs/heads/main', modified: 1000 + i, reference: null });

/** A manifest written the way grokmirror (Python json.dumps) writes it, plus our two repos. */
function pythonManifest(file: string, extra: Record<string, unknown>, pretty: boolean): void {
  const doc: Record<string, unknown> = { ...extra };
  for (let i = 1; i <= 5; i++) doc[`/other/o${i}.git`] = other(i);
  const py = pretty ? 'json.dumps(d, indent=2, sort_keys=True)' : 'json.dumps(d)';
  const text = execFileSync('python3', ['-c', `import json,sys; d=json.load(sys.stdin); sys.stdout.write(${py})`], { input: JSON.stringify(doc), encoding: 'utf8' });
  writeFileSync(file, file.endsWith('.gz') ? gzipSync(text) : text);
}

const text = (file: string) => (file.endsWith('.gz') ? gunzipSync(readFileSync(file)) : readFileSync(file)).toString('utf8');

t.test('a hook update splices one entry and leaves every other byte as it was', async (t) => {
  for (const [name, pretty] of [['manifest.js.gz', false], ['manifest.js', true]] as const) {
    const dir = tmpDir(t);
    const top = path.join(dir, 'top');
    makeRepo(path.join(top, 'a.git'));
    makeRepo(path.join(top, 'b.git'));
    const f = path.join(dir, name);
    await runM(top, f, { pretty });
    const ours = JSON.parse(text(f)) as Record<string, unknown>;
    pythonManifest(f, ours, pretty);
    const before = text(f);
    const sha = pushCommit(path.join(top, 'a.git'), { date: 1_750_000_000 });
    const res = await runM(top, f, { paths: [path.join(top, 'a.git')], pretty });
    t.same(res.updated, ['/a.git'], name);
    const after = text(f);
    t.equal(looksPretty(Buffer.from(after)), pretty, `${name} keeps its layout`);
    const m = await readM(f);
    t.equal(m['/a.git']!.modified, 1_750_000_000);
    t.equal(m['/a.git']!.fingerprint, readFileSync(path.join(top, 'a.git/grokmirror.fingerprint'), 'utf8'));
    t.same(m['/other/o3.git'], other(3));
    // everything outside the /a.git entry is byte-identical (Python's ", " and ": " included)
    const cut = (s: string) => {
      const scan = scanManifest(Buffer.from(s), 'x');
      const span = scan.spans.find((x) => x.key === '/a.git')!;
      const b = Buffer.from(s);
      return [b.subarray(0, span.valueStart).toString(), b.subarray(span.valueEnd).toString()];
    };
    // every other entry keeps its bytes (Python's ", " and ": " included); a compact gzip file is
    // written in the sliced form (entries regrouped by slice), a plain one is spliced in place
    const others = (s: string) => {
      const b = Buffer.from(s);
      return scanManifest(b, 'x').spans.filter((x) => x.key !== '/a.git').map((x) => b.toString('utf8', x.keyStart, x.valueEnd)).sort();
    };
    if (pretty) t.same(cut(after), cut(before), `${name}: only the updated entry changed`);
    else t.same(others(after), others(before), `${name}: only the updated entry changed`);
    t.equal(execFileSync('git', [`--git-dir=${path.join(top, 'a.git')}`, 'rev-parse', 'master'], { encoding: 'utf8' }).trim(), sha);
    t.ok(fsckOk(path.join(top, 'a.git')).ok);
  }
});

t.test('a new repo is appended to a compact manifest; a pretty one is rewritten in order', async (t) => {
  for (const pretty of [false, true]) {
    const dir = tmpDir(t);
    const top = path.join(dir, 'top');
    makeRepo(path.join(top, 'b.git'));
    const f = path.join(dir, 'manifest.js');
    await runM(top, f, { pretty });
    makeRepo(path.join(top, 'a.git'));
    const res = await runM(top, f, { paths: [path.join(top, 'a.git')], pretty });
    t.same(res.added, ['/a.git']);
    const keys = Object.keys(JSON.parse(text(f)) as object);
    t.same(keys, pretty ? ['/a.git', '/b.git'] : ['/b.git', '/a.git'], pretty ? 'sorted' : 'appended');
  }
});

t.test('splice corner cases', async (t) => {
  const b = Buffer.from('{}');
  const e = { modified: 1, fingerprint: 'a'.repeat(40), head: null, reference: null };
  t.same(JSON.parse(spliceEntries(b, scanManifest(b, 'x'), new Map([['/n.git', e]]), false)!.toString()), { '/n.git': e }, 'into an empty object');
  const p = Buffer.from('{\n  "/a.git": {}\n}');
  t.equal(spliceEntries(p, scanManifest(p, 'x'), new Map([['/new.git', e]]), true), null, 'no unsorted additions to pretty files');
  t.throws(() => scanManifest(Buffer.from('{"/a.git": {"x": 1,}}'), 'm'), { code: 'GROK_ERR_MANIFEST_PARSE', message: /m: not valid JSON \(expected a key at byte 19\)/ });
  const deep = Buffer.from(`{"/a.git": ${'['.repeat(100000)}${']'.repeat(100000)}}`);
  t.equal(scanManifest(deep, 'm').spans.length, 1, 'deep nesting needs no recursion');
});

t.test('duplicate keys or a damaged entry take the careful path', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'a.git'));
  const f = path.join(dir, 'manifest.js');
  const bad = { fingerprint: 'nope', modified: 1 };
  writeFileSync(f, `{"/a.git": ${JSON.stringify(bad)}, "/x.git": ${JSON.stringify(other(1))}, "/x.git": ${JSON.stringify(other(2))}}`);
  const res = await runM(top, f, { paths: [path.join(top, 'a.git')] });
  t.same(res.added, ['/a.git'], 'the damaged entry was dropped and rebuilt');
  const m = await readM(f);
  t.same(Object.keys(m).sort(), ['/a.git', '/x.git']);
  t.same(m['/x.git'], other(2), 'JSON semantics: the last duplicate wins');
});

t.test('a compact gzip manifest is written sliced: the next hook update recompresses one slice, and Python reads the file', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'a.git'));
  const f = path.join(dir, 'manifest.js.gz');
  const doc: Record<string, unknown> = {};
  for (let i = 0; i < 2000; i++) doc[`/other/o${i}.git`] = other(i);
  writeFileSync(f, gzipSync(JSON.stringify(doc)));
  t.equal(readLayout(readFileSync(f)), null, 'one plain gzip member to start with');
  await runM(top, f, { paths: [path.join(top, 'a.git')] });
  const first = readFileSync(f);
  const layout = readLayout(first);
  t.ok(layout, 'written in the sliced form');
  t.equal(layout!.count, 8, 'ceil(2001 / 256) slices');
  t.equal(layout!.entries, 2001);
  pushCommit(path.join(top, 'a.git'), { date: 1_750_000_000 });
  const res = await runM(top, f, { paths: [path.join(top, 'a.git')] });
  t.same(res.updated, ['/a.git']);
  const second = readFileSync(f);
  const again = readLayout(second)!;
  const member = (b: Buffer, l: typeof again, i: number) => b.subarray(l.slices.get(i)!.start, l.slices.get(i)!.end);
  const changed = [...again.slices.keys()].filter((i) => !member(first, layout!, i).equals(member(second, again, i)));
  t.equal(changed.length, 1, 'one slice recompressed, every other member copied as it was');
  const m = await readM(f);
  t.equal(Object.keys(m).length, 2001);
  t.equal(m['/a.git']!.modified, 1_750_000_000);
  t.same(m['/other/o1234.git'], other(1234));
  const py = execFileSync('python3', ['-c', 'import gzip,json,sys; d=json.load(gzip.open(sys.argv[1])); print(len(d), d["/a.git"]["modified"])', f], { encoding: 'utf8' });
  t.equal(py.trim(), '2001 1750000000', "Python's gzip and json read the multi-member file whole");
});
