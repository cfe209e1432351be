/**
 * Issue 17 item 1 and issue 23's last paragraph: every URL built from a manifest key is
 * percent-encoded. A table of repositories named with every printable ASCII character a key may hold
 * (all but "/" and "\"), plus non-ASCII names, is served by our grok-origin and mirrored over real
 * HTTP and over file://: each mirror must hold the refs of its own origin repository (names that
 * decode to another existing repository's name are in the table, to catch a fetch of the wrong
 * path) and pass git fsck. Replicas written by an older grok-pull, with unencoded remote URLs, are
 * put right. The origin decodes request paths as httpd does before git-http-backend.
 */
import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { CaseTable } from '../helpers/case-table.js';
import { runBin } from '../helpers/cli.js';
import { BIN } from '../helpers/fixture.js';
import { fsckOk, gitDir, makeRepo } from '../helpers/git.js';
import { readM } from '../helpers/manifest.js';
import { rawRequest, startTestOrigin } from '../helpers/origin.js';
import { tmpDir } from '../helpers/tmp.js';

const refsOf = (repo: string) => gitDir(repo, ['for-each-ref', '--format=%(objectname) %(refname)']);
const table = new CaseTable('url-keys', 'Repository names holding characters a URL gives meaning to, mirrored over HTTP and file://');

/** Every printable ASCII character but "/" (the separator) and "\" (refused in keys). */
const ASCII = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).filter((c) => c !== '/' && c !== '\\');
/** A key as a URL path: each segment percent-encoded as UTF-8 (what curl, git and httpd agree on). */
const urlPath = (key: string) => key.split('/').map(encodeURIComponent).join('/');
const hex = (c: string) => [...Buffer.from(c, 'utf8')].map((b) => b.toString(16).padStart(2, '0')).join('');

const asciiKey = (c: string) => `/ascii/${c === '.' ? 'dot' : c.repeat(2)}/${c}c${hex(c)}-${c}-x${c}.git`;

function keyTable(): { key: string; why: string }[] {
  const keys: { key: string; why: string }[] = [];
  // Each character alone in a directory name (but "."; ".." is no key), and at the start, inside and
  // at the end of a repository name.
  for (const c of ASCII) keys.push({ key: asciiKey(c), why: `${JSON.stringify(c)} in a directory name and at both ends and inside a name` });
  const more: [string, string][] = [
    ['/clash/pA.git', 'the repository "%41" decodes to'],
    ['/clash/p%41.git', '"%41" is "A" once decoded: must not fetch /clash/pA.git'],
    ['/clash/q/r.git', 'the repository "%2f" decodes to'],
    ['/clash/q%2fr.git', '"%2f" is "/" once decoded: must not fetch /clash/q/r.git'],
    ['/clash/s t.git', 'the repository "%20" decodes to'],
    ['/clash/s%20t.git', '"%20" is " " once decoded: must not fetch "/clash/s t.git"'],
    ['/clash/u+v.git', '"+" is no space in a path'],
    ['/clash/u v.git', 'what "+" would wrongly decode to'],
    ['/clash/h#frag.git', 'a "#" would cut the URL'],
    ['/clash/h.git', 'what a cut "#" would fetch'],
    ['/clash/w?x=y.git', 'a "?" would start a query'],
    ['/clash/w.git', 'what a cut "?" would fetch'],
    ['/clash/%.git', 'a lone "%"'],
    ['/clash/%%.git', 'two "%"'],
    ['/clash/%zz.git', '"%" followed by non-hex'],
    ['/uni/é.git', 'Latin-1 range (2 UTF-8 bytes)'],
    ['/uni/e\u0301.git', 'e and a combining accent (NFD)'],
    ['/uni/中文/仓库.git', 'CJK directory and name (3 UTF-8 bytes each)'],
    ['/uni/😀.git', 'an emoji (4 UTF-8 bytes, a surrogate pair in JSON)'],
    ['/uni/nb\u00a0sp.git', 'a no-break space'],
    ['/uni/full\uff0fwidth.git', 'a fullwidth solidus (no separator)'],
    ['/uni/\u202eltr.git', 'a right-to-left override'],
    ['/uni/%C3%A9.git', 'the percent-encoding of é, literally'],
  ];
  for (const [key, why] of more) keys.push({ key, why });
  return keys;
}

t.test('keys with URL-special and non-ASCII characters mirror over HTTP and file://', async (t) => {
  const dir = tmpDir(t, 'grok-urlkeys-');
  const top = path.join(dir, 'origin');
  const base = path.join(dir, 'base.git');
  makeRepo(base, { commits: 2 });
  let t0 = performance.now();
  const head = gitDir(base, ['rev-parse', 'HEAD']);
  const baseRefs = refsOf(base);
  const keys = keyTable();
  // What each repository's refs are: the base's plus its own tag (sorted as for-each-ref sorts).
  const expected = (i: number) => [...baseRefs.split('\n'), `${head} refs/tags/id-${i}`].sort((a, b) => (a.split(' ')[1]! < b.split(' ')[1]! ? -1 : 1)).join('\n');
  // One copy of a small repository per key, each with a ref of its own: a mirror of the wrong
  // repository shows in its refs.
  t0 = performance.now();
  for (const [i, { key }] of keys.entries()) {
    const repo = path.join(top, key);
    cpSync(base, repo, { recursive: true });
    gitDir(repo, ['update-ref', `refs/tags/id-${i}`, head]);
  }
  t.comment(`made ${keys.length} repositories in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  t0 = performance.now();
  const origin = await startTestOrigin(t, top);
  t.comment(`origin's first walk ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const listed = await readM(path.join(top, 'manifest.js.gz'));
  t.same(Object.keys(listed).sort(), keys.map((k) => k.key).sort(), 'the origin lists every name');

  const mirrorWith = async (name: string, site: string, manifest: string, include = '*') => {
    const mirror = path.join(dir, name);
    const conf = path.join(dir, `${name}.conf`);
    writeFileSync(conf, `[core]\ntoplevel = ${mirror}\nmanifest = ${path.join(mirror, 'manifest.js.gz')}\n[remote]\nsite = ${site}\nmanifest = ${manifest}\n[pull]\npull_threads = 4\nretries = 1\ninclude = ${include}\n`);
    const r = await runBin(BIN.pull, ['-c', conf, '-n']);
    return { mirror, conf, r };
  };
  const check = (mirror: string, via: string, only: (key: string) => boolean = () => true) => {
    for (const [i, { key, why }] of keys.entries()) {
      if (!only(key)) continue;
      const problems: string[] = [];
      let refs = '(missing)';
      try {
        refs = refsOf(path.join(mirror, key));
      } catch {
        problems.push('not mirrored');
      }
      if (refs !== expected(i)) problems.push(`holds other refs: ${refs.split('\n').find((l) => l.includes('id-')) ?? refs}`);
      else if (!fsckOk(path.join(mirror, key)).ok) problems.push('git fsck failed');
      table.add(`${via}: ${key}`, why, problems.length ? problems.join('; ') : 'mirrored, own refs, git fsck clean', problems.length === 0);
      if (problems.length) t.fail(`${via} ${JSON.stringify(key)}: ${problems.join('; ')}`);
    }
  };

  t0 = performance.now();
  const http = await mirrorWith('mirror-http', origin.url, `${origin.url}/manifest.js.gz`);
  t.comment(`${keys.length} repositories over HTTP: grok-pull ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  t.equal(http.r.code, 0, `grok-pull over HTTP: ${http.r.stderr.slice(0, 2000)}`);
  t0 = performance.now();
  check(http.mirror, 'http');
  t.comment(`checks ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  t0 = performance.now();
  // git decodes file:// paths too; the names that clash or are not ASCII, and "%", "#", "?" and " ".
  const viaFile = ['/clash/*', '/uni/*', ...['%', '#', '?', ' '].map((c) => `/ascii/[${c}][${c}]/*`)];
  const file = await mirrorWith('mirror-file', `file://${top}`, `file://${path.join(top, 'manifest.js.gz')}`, viaFile.join('\n  '));
  t.comment(`over file://: grok-pull ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  t.equal(file.r.code, 0, `grok-pull over file://: ${file.r.stderr.slice(0, 2000)}`);
  check(file.mirror, 'file', (k) => k.startsWith('/clash/') || k.startsWith('/uni/') || ['%', '#', '?', ' '].some((c) => k === asciiKey(c)));

  await t.test('remote URLs an older grok-pull wrote unencoded are put right', async (t) => {
    const damaged = ['/clash/p%41.git', '/clash/s%20t.git', '/clash/u+v.git', '/uni/é.git', asciiKey('#')];
    for (const key of damaged) {
      const repo = path.join(http.mirror, key);
      // What the old code wrote: site + key, as is. Where that names another repository, the old
      // fetch got that repository's refs: put them in too.
      gitDir(repo, ['config', 'remote._grokmirror.url', `${origin.url}${key}`]);
      if (key === '/clash/p%41.git') gitDir(repo, ['fetch', '-q', '--prune', path.join(top, 'clash/pA.git'), '+refs/*:refs/*']);
    }
    const r = await runBin(BIN.pull, ['-c', http.conf, '-n']);
    t.equal(r.code, 0, r.stderr);
    for (const key of damaged) {
      const repo = path.join(http.mirror, key);
      const url = gitDir(repo, ['config', 'remote._grokmirror.url']);
      const ok = url === `${origin.url}${urlPath(key)}` && refsOf(repo) === refsOf(path.join(top, key)) && fsckOk(repo).ok;
      t.ok(ok, `${key}: ${url}`);
      table.add(`an unencoded remote URL left by an older grok-pull: ${key}`, 'rewritten encoded, refs of its own repository again, git fsck clean', `remote url ${url.replace(origin.url, '<site>')}`, ok);
    }
  });

  await t.test('the origin decodes request paths as httpd does before git-http-backend', async (t) => {
    const info = '/info/refs?service=git-upload-pack';
    const rows: [string, string, number][] = [
      ['every character percent-encoded (upper-case hex)', asciiKey('?').replace(/[^/]/g, (c) => `%${hex(c).toUpperCase()}`), 200],
      ['lower-case hex', '/uni/%c3%a9.git', 200],
      ...['$', ';', '&', '=', '@', ':', ',', "'", '(', ')', '*', '!', '~'].map((c): [string, string, number] => [`${JSON.stringify(c)} left unencoded`, asciiKey(c), 200]),
      ['"+" stays "+"', '/clash/u+v.git', 200],
      ['"%2B" is "+"', '/clash/u%2Bv.git', 200],
      ['an encoded "/" (%2F) is refused, as httpd does (AllowEncodedSlashes off)', '/clash/q%2Fr.git', 404],
      ['an encoded "/" in lower case too', '/clash/q%2fr.git', 404],
      ['the literal name "q%2fr.git", encoded', '/clash/q%252fr.git', 200],
      ['an encoded NUL', '/clash/h%00.git', 404],
      ['a "%" not followed by two hex digits', '/clash/%zz.git', 400],
      ['an encoded "\\"', '/clash%5Cq/r.git', 404],
      ['an encoded ".." segment', '/clash/%2e%2e/clash/pA.git', 404],
    ];
    for (const [name, p, want] of rows) {
      const got = await rawRequest(origin.url, `${p}${info}`);
      t.equal(got.status, want, `${name}: ${p}`);
      table.add(`origin: ${name}`, `HTTP ${want}`, `GET ${p}/info/refs: ${got.status}`, got.status === want);
    }
  });
});

t.test('the record', async (t) => {
  t.comment(table.write());
  t.equal(table.passed, table.rows.length, `${table.passed} of ${table.rows.length} as expected`);
});
