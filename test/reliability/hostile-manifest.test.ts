/**
 * Issue 8, hostile manifests: a replica fed manifests written by an attacker (or a broken origin)
 * refuses what it must, names the problem, writes nothing outside its toplevel, loses nothing it
 * holds, and still mirrors the good entries of a manifest whose bad parts are entry-level.
 *
 * The "origin" is a tiny node:http site on 127.0.0.1 that serves whatever manifest a case asks for
 * and answers git smart HTTP for ANY path by relaying to a real grok-origin's /good.git: the worst
 * case, an origin that hands out real repository data for whatever key it lists. Each case runs the
 * real grok-pull command (-n, purge on) against it and checks: the refusal on stderr, the listing of
 * everything beside the toplevel (sentinel files, a bare repository and a directory that symlinks
 * inside the mirror point at), refs of every repository the mirror held before, and git fsck.
 * A second part feeds hostile local manifest files to grok-manifest.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { gunzipSync, gzipSync } from 'node:zlib';
import t from 'tap';
import { rng, seedFor } from '../helpers/seeded.js';
import type { ManifestEntry } from '../../shared/manifest/entry.js';
import { runBin } from '../helpers/cli.js';
import { BIN } from '../helpers/fixture.js';
import { fsckOk, gitDir, makeRepo } from '../helpers/git.js';
import { readM } from '../helpers/manifest.js';
import { startTestOrigin } from '../helpers/origin.js';
import { CaseTable } from '../helpers/case-table.js';
import { startHostileSite } from '../helpers/hostile-site.js';
import { tmpDir } from '../helpers/tmp.js';

const SEED = seedFor(20_251_121);

/** Everything under `root` except the named top entries: path, type, size, mtime (symlinks not followed). */
function snapshot(root: string, skip: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      const rel = path.relative(root, p);
      if (skip.has(rel)) continue;
      const st = lstatSync(p);
      const type = st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : 'file';
      out.push(`${rel} ${type} ${st.isDirectory() ? '' : st.size} ${st.mtimeMs}`);
      if (type === 'dir') walk(p);
    }
  };
  walk(root);
  return out;
}

function kindOf(p: string): string {
  try {
    const st = lstatSync(p);
    return st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : 'file';
  } catch {
    return 'missing';
  }
}

const refsOf = (repo: string) => gitDir(repo, ['for-each-ref', '--format=%(objectname) %(refname)']);

/** A hostile value given as JSON text: some cannot be made with JSON.stringify (it recurses). */
class RawJson {
  constructor(readonly text: string) {}
}
const jsonOf = (v: unknown) => (v instanceof RawJson ? v.text : JSON.stringify(v));

type Kind =
  /** Some entries are refused, each named on stderr; the rest of the manifest is mirrored. */
  | 'entry'
  /** The whole document is refused with an error; nothing changes. */
  | 'document'
  /** A key that only looks hostile: kept as a literal name inside the toplevel, or refused; never a traversal. */
  | 'literal'
  /** Harmless after all: mirrored as given. */
  | 'accepted';

interface ManifestCase {
  readonly name: string;
  readonly kind: Kind;
  readonly expected: string;
  /** entry/literal cases: added to the manifest the mirror already holds (plus one fresh good entry). */
  readonly hostile?: Record<string, unknown>;
  /** document cases: the bytes served. */
  readonly body?: () => Buffer;
  /** Serve at /manifest.js.gz (gunzipped by the replica) instead of /manifest.js. */
  readonly gz?: boolean;
  /** document cases: what the error must say. */
  readonly error?: RegExp;
  /** Further checks after the pass; returns the problems found. */
  readonly verify?: () => string[];
  /**
   * Cases that only test what the manifest reader refuses share one pass (the checks of the pass
   * count against each of them); cases that involve the disk, and whole documents, get their own.
   */
  readonly batch?: string;
}

const table = new CaseTable('hostile-manifest', 'Hostile remote manifests fed to grok-pull, hostile local manifests fed to grok-manifest');
let pullSeconds = 0;
let pullMs = 0;
let passes = 0;
let pullCases = 0;
let lastStderr = '';

t.test('hostile remote manifests fed to grok-pull', async (t) => {
  const started = performance.now();
  const rnd = rng(SEED);
  t.comment(`seed ${SEED} (set GROK_SEED to repeat another)`);
  const dir = tmpDir(t, 'grok-hostile-');
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'good.git'), { commits: 3 });
  makeRepo(path.join(top, 'keep.git'), { commits: 2, date: 1_650_000_000 });
  makeRepo(path.join(top, 'pub/also.git'), { commits: 2, date: 1_660_000_000 });
  const origin = await startTestOrigin(t, top);
  const real = await readM(path.join(top, 'manifest.js.gz'));
  const good = real['/good.git']!;
  const site = await startHostileSite(t, origin.url, new Set(Object.keys(real)));

  // Beside the toplevel: a sentinel tree, a bare repository and a directory that symlinks inside
  // the mirror point at. None of it may change.
  const mirror = path.join(dir, 'mirror');
  const sentinel = path.join(dir, 'sentinel');
  mkdirSync(path.join(sentinel, 'outside-dir'), { recursive: true });
  writeFileSync(path.join(sentinel, 'canary.txt'), 'must not change\n');
  writeFileSync(path.join(sentinel, 'outside-dir', 'canary.txt'), 'must not change either\n');
  makeRepo(path.join(sentinel, 'outrepo.git'), { commits: 1, date: 1_500_000_000 });
  mkdirSync(path.join(mirror, 'objstore'), { recursive: true });
  writeFileSync(path.join(mirror, 'objstore', 'README'), 'the objstore directory\n');
  symlinkSync(path.join(sentinel, 'outrepo.git'), path.join(mirror, 'outlink.git'));
  symlinkSync(path.join(sentinel, 'outside-dir'), path.join(mirror, 'evil-dir'));
  const pwned = path.join(dir, 'pwned');

  const conf = path.join(dir, 'conf', 'replica.conf');
  mkdirSync(path.dirname(conf));
  const writeConf = (gz: boolean) =>
    writeFileSync(
      conf,
      `[core]\ntoplevel = ${mirror}\nmanifest = ${path.join(mirror, 'manifest.js.gz')}\nmanifest_max_size = 4M\n` +
        `[remote]\nsite = ${site.url}\nmanifest = ${site.url}/manifest.js${gz ? '.gz' : ''}\n` +
        `[pull]\nprojectslist = ${path.join(mirror, 'projects.list')}\npull_threads = 2\nretries = 1\npurge = yes\npurgeprotect = 50\n`,
    );
  const pullNow = async (gz = false) => {
    passes++;
    writeConf(gz);
    return runBin(BIN.pull, ['-c', conf, '-n']);
  };

  // What the mirror holds and must keep: key -> entry as listed, and refs as mirrored.
  const held = new Map<string, ManifestEntry>(Object.entries(real));
  const heldRefs = new Map<string, string>();
  site.serve({ body: Buffer.from(JSON.stringify(real)) });
  const first = await pullNow();
  t.equal(first.code, 0, `the first pass mirrors the real manifest: ${first.stderr}`);
  for (const k of held.keys()) heldRefs.set(k, refsOf(path.join(mirror, k)));
  t.equal(heldRefs.get('/good.git'), refsOf(path.join(top, 'good.git')));
  const goodRefs = heldRefs.get('/good.git')!;

  const g = good as unknown as Record<string, unknown>;
  const fp = good.fingerprint;
  const deep = (n: number, open: string, close: string, inner = '1') => `${open.repeat(n)}${inner}${close.repeat(n)}`;
  const huge = () => {
    // Valid entries, many MB of them: beyond the 4M cap in the config.
    const parts: string[] = [];
    for (let i = 0; parts.length < 60_000; i++) parts.push(`${JSON.stringify(`/bulk/r${i}-${Math.floor(rnd() * 1e9).toString(36)}.git`)}:${JSON.stringify(good)}`);
    return Buffer.from(`{${parts.join(',')}}`);
  };
  const junk = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));

  const cases: ManifestCase[] = [
    // --- keys: traversal and malformed paths
    { name: 'key /../../etc/evil.git', kind: 'entry', batch: 'key text', expected: 'entry refused (".." segment)', hostile: { '/../../etc/evil.git': good } },
    { name: 'key /a/../../x.git', kind: 'entry', batch: 'key text', expected: 'entry refused (".." segment)', hostile: { '/a/../../x.git': good } },
    { name: 'key with trailing /..', kind: 'entry', batch: 'key text', expected: 'entry refused (".." segment)', hostile: { '/pub/..': good } },
    { name: 'key with trailing /.', kind: 'entry', batch: 'key text', expected: 'entry refused ("." segment)', hostile: { '/pub/.': good } },
    { name: 'key /./dot.git', kind: 'entry', batch: 'key text', expected: 'entry refused ("." segment)', hostile: { '/./dot.git': good } },
    { name: 'key //double.git', kind: 'entry', batch: 'key text', expected: 'entry refused (empty segment)', hostile: { '//double.git': good } },
    { name: 'key /a//b.git', kind: 'entry', batch: 'key text', expected: 'entry refused (empty segment)', hostile: { '/a//b.git': good } },
    { name: 'key with a trailing slash', kind: 'entry', batch: 'key text', expected: 'entry refused (empty segment)', hostile: { '/slash.git/': good } },
    { name: 'key without a leading slash', kind: 'entry', batch: 'key text', expected: 'entry refused (no leading "/")', hostile: { 'relative.git': good } },
    { name: 'key ../escape.git (relative traversal)', kind: 'entry', batch: 'key text', expected: 'entry refused', hostile: { '../escape.git': good } },
    { name: 'empty key', kind: 'entry', batch: 'key text', expected: 'entry refused (empty)', hostile: { '': good } },
    { name: 'key "/"', kind: 'entry', batch: 'key text', expected: 'entry refused (names the toplevel itself)', hostile: { '/': good } },
    { name: 'key with a backslash traversal', kind: 'entry', batch: 'key text', expected: 'entry refused (backslash)', hostile: { '/a\\..\\..\\x.git': good } },
    { name: 'key with NUL', kind: 'entry', batch: 'key text', expected: 'entry refused (control character)', hostile: { '/nul\u0000.git': good } },
    { name: 'key with a newline', kind: 'entry', batch: 'key text', expected: 'entry refused (control character)', hostile: { '/new\nline.git': good } },
    { name: 'key with CR and ESC', kind: 'entry', batch: 'key text', expected: 'entry refused (control character)', hostile: { '/cr\r\u001b[2J.git': good } },
    { name: 'key of 5000 characters', kind: 'entry', batch: 'key text', expected: 'entry refused (too long)', hostile: { [`/${'x'.repeat(4995)}.git`]: good } },
    { name: 'key __proto__', kind: 'entry', batch: 'key text', expected: 'entry refused (no leading "/"), no prototype games', hostile: JSON.parse(`{"__proto__": ${JSON.stringify(good)}}`) as Record<string, unknown> },
    {
      name: 'key /%2e%2e/%2e%2e/enc.git (percent-encoded traversal)',
      kind: 'literal',
      expected: 'a literal directory named "%2e%2e" inside the toplevel (or refused); never a traversal',
      hostile: { '/%2e%2e/%2e%2e/enc.git': good },
    },
    {
      name: 'key /..%2f..%2fenc2.git (encoded slashes)',
      kind: 'literal',
      expected: 'a literal name inside the toplevel (or refused); never a traversal',
      hostile: { '/..%2f..%2fenc2.git': good },
    },
    {
      name: 'key /%252e%252e/dbl.git (double encoding)',
      kind: 'literal',
      expected: 'a literal name inside the toplevel (or refused); never a traversal',
      hostile: { '/%252e%252e/dbl.git': good },
    },
    {
      name: 'key that is an absolute path outside (the sentinel repository)',
      kind: 'literal',
      expected: 'taken relative to the toplevel (a literal path inside it) or refused; the sentinel is untouched',
      hostile: { [path.join(sentinel, 'abs.git')]: good },
    },
    // --- keys and the local disk: symlinks, our own files, other repositories
    { name: 'key whose local path is a symlink to a repository outside the toplevel', kind: 'entry', expected: 'entry refused; the outside repository untouched', hostile: { '/outlink.git': good } },
    { name: 'key under a symlinked directory pointing outside', kind: 'entry', expected: 'entry refused; nothing written outside', hostile: { '/evil-dir/x.git': good } },
    { name: 'key naming a symlinked directory pointing outside', kind: 'entry', expected: 'entry refused', hostile: { '/evil-dir': good } },
    { name: 'key naming the objstore directory', kind: 'entry', expected: 'entry refused; objstore untouched', hostile: { '/objstore': good } },
    { name: 'key inside the objstore directory', kind: 'entry', expected: 'entry refused; nothing made in the objstore', hostile: { '/objstore/hostile.git': good } },
    { name: 'key naming the local manifest file', kind: 'entry', expected: 'entry refused; the manifest stays a file', hostile: { '/manifest.js.gz': good } },
    { name: "key naming the local manifest's lock file", kind: 'entry', expected: 'entry refused', hostile: { '/.manifest.js.gz.lock': good } },
    { name: 'key naming the last-fetch status file', kind: 'entry', expected: 'entry refused', hostile: { '/.manifest.js.gz.remote': good } },
    { name: 'key naming projects.list', kind: 'entry', expected: 'entry refused', hostile: { '/projects.list': good } },
    { name: "key naming a repository's lock file", kind: 'entry', expected: 'entry refused', hostile: { '/.good.git.lock': good } },
    { name: "key naming grok-pull's temporary clone of a repository", kind: 'entry', expected: 'entry refused', hostile: { '/.keep.git.grok-old-0badf00d': good } },
    { name: "key inside grok-pull's trash directory", kind: 'entry', expected: 'entry refused', hostile: { '/.grokmirror-trash/x.git': good } },
    { name: 'key inside an existing repository', kind: 'entry', expected: 'entry refused; /good.git untouched', hostile: { '/good.git/objects/evil.git': good } },
    { name: 'key naming a directory inside an existing repository', kind: 'entry', expected: 'entry refused; /good.git untouched', hostile: { '/good.git/refs': good } },
    // --- head
    { name: 'head "ref: refs/../../x"', kind: 'entry', batch: 'head', expected: 'entry refused (bad ref name)', hostile: { '/h1.git': { ...g, head: 'ref: refs/../../x' } } },
    { name: 'head "--upload-pack=touch pwned"', kind: 'entry', batch: 'head', expected: 'entry refused; nothing run', hostile: { '/h2.git': { ...g, head: `--upload-pack=touch ${pwned}` } } },
    { name: 'head with newline injection', kind: 'entry', batch: 'head', expected: 'entry refused', hostile: { '/h3.git': { ...g, head: `ref: refs/heads/master\n[core]\n\tfsmonitor = touch ${pwned}` } } },
    { name: 'head that is not a ref ("refs/heads/master" without "ref: ")', kind: 'entry', batch: 'head', expected: 'entry refused', hostile: { '/h4.git': { ...g, head: 'refs/heads/master' } } },
    { name: 'head "ref: /etc/passwd"', kind: 'entry', batch: 'head', expected: 'entry refused', hostile: { '/h5.git': { ...g, head: 'ref: /etc/passwd' } } },
    { name: 'head as a number', kind: 'entry', batch: 'head', expected: 'entry refused', hostile: { '/h6.git': { ...g, head: 42 } } },
    // --- reference and forkgroup
    { name: 'reference /../../etc', kind: 'entry', batch: 'reference and forkgroup', expected: 'entry refused', hostile: { '/r1.git': { ...g, reference: '/../../etc' } } },
    { name: 'reference without a leading slash', kind: 'entry', batch: 'reference and forkgroup', expected: 'entry refused', hostile: { '/r2.git': { ...g, reference: 'good.git' } } },
    { name: 'reference as an object', kind: 'entry', batch: 'reference and forkgroup', expected: 'entry refused', hostile: { '/r3.git': { ...g, reference: { path: '/good.git' } } } },
    { name: 'forkgroup ../../evil', kind: 'entry', batch: 'reference and forkgroup', expected: 'entry refused', hostile: { '/f1.git': { ...g, forkgroup: '../../evil' } } },
    { name: 'forkgroup with a slash', kind: 'entry', batch: 'reference and forkgroup', expected: 'entry refused', hostile: { '/f2.git': { ...g, forkgroup: 'a/b' } } },
    { name: 'forkgroup starting with "-"', kind: 'entry', batch: 'reference and forkgroup', expected: 'entry refused', hostile: { '/f3.git': { ...g, forkgroup: '--reference=/etc' } } },
    { name: 'forkgroup empty', kind: 'entry', batch: 'reference and forkgroup', expected: 'entry refused', hostile: { '/f4.git': { ...g, forkgroup: '' } } },
    // --- owner and description
    // Owner and description are data (grokmirror takes any string): stored as given through argv and
    // the description file, never run, escaped wherever printed. Only what cannot be stored is refused.
    {
      name: 'owner and description with ANSI escape sequences',
      kind: 'accepted',
      expected: 'mirrored: stored verbatim (gitweb.owner through argv, the description file); no raw escape on stderr',
      hostile: { '/o1.git': { ...g, owner: 'evil\u001b[2J\u001b[31mowner', description: 'x\u001b]0;pwned\u0007 \u001b[31my\u001b[0m' } },
      verify: () => {
        const repo = path.join(mirror, 'o1.git');
        const out: string[] = [];
        if (gitDir(repo, ['config', 'gitweb.owner']) !== 'evil\u001b[2J\u001b[31mowner') out.push('gitweb.owner not stored as given');
        if (readFileSync(path.join(repo, 'description'), 'utf8') !== 'x\u001b]0;pwned\u0007 \u001b[31my\u001b[0m') out.push('description not stored as given');
        if (lastStderr.includes('\u001b')) out.push('a raw ESC reached stderr');
        return out;
      },
    },
    {
      name: 'owner with a newline and a config section, description with NUL',
      kind: 'accepted',
      expected: 'mirrored: one git config value (escaped by git), no [core] section made, nothing run; the description file holds the NUL',
      hostile: { '/o2.git': { ...g, owner: `evil\n[core]\n\tpager = touch ${pwned}`, description: 'a\u0000b' } },
      verify: () => {
        const repo = path.join(mirror, 'o2.git');
        const out: string[] = [];
        if (gitDir(repo, ['config', 'gitweb.owner']) !== `evil\n[core]\n\tpager = touch ${pwned}`) out.push('gitweb.owner not stored as given');
        try {
          out.push(`a core.pager appeared: ${gitDir(repo, ['config', '--get-all', 'core.pager'])}`);
        } catch {
          // unset, as it must be
        }
        if (readFileSync(path.join(repo, 'description'), 'latin1') !== 'a\u0000b') out.push('description not stored as given');
        return out;
      },
    },
    {
      name: 'owner with a C1 control (U+009B, 8-bit CSI)',
      kind: 'accepted',
      expected: 'mirrored: stored verbatim as one git config argument, never run or printed raw',
      hostile: { '/o3.git': { ...g, owner: 'evil\u009b2Jowner' } },
      verify: () => (gitDir(path.join(mirror, 'o3.git'), ['config', 'gitweb.owner']) === 'evil\u009b2Jowner' ? [] : ['gitweb.owner not stored as given']),
    },
    { name: 'owner as an array', kind: 'entry', batch: 'owner and description', expected: 'entry refused', hostile: { '/o4.git': { ...g, owner: ['a'] } } },
    { name: 'owner with NUL (no git config value can hold it)', kind: 'entry', batch: 'owner and description', expected: 'entry refused', hostile: { '/o5.git': { ...g, owner: 'a\u0000b' } } },
    { name: 'description of 64 KiB + 1 byte', kind: 'entry', batch: 'owner and description', expected: 'entry refused (over the 64 KiB bound)', hostile: { '/d1.git': { ...g, description: 'd'.repeat(64 * 1024 + 1) } } },
    { name: 'owner of 64 KiB + 1 byte (2-byte characters)', kind: 'entry', batch: 'owner and description', expected: 'entry refused (over the 64 KiB bound)', hostile: { '/o6.git': { ...g, owner: 'é'.repeat(32 * 1024) + 'x' } } },
    { name: 'description as a number', kind: 'entry', batch: 'owner and description', expected: 'entry refused', hostile: { '/d2.git': { ...g, description: 42 } } },
    // --- types
    { name: 'entry value is a number', kind: 'entry', batch: 'types', expected: 'entry refused', hostile: { '/t1.git': 5 } },
    { name: 'entry value is an array', kind: 'entry', batch: 'types', expected: 'entry refused', hostile: { '/t2.git': [good] } },
    { name: 'entry value is null', kind: 'entry', batch: 'types', expected: 'entry refused', hostile: { '/t3.git': null } },
    { name: 'entry value is a string', kind: 'entry', batch: 'types', expected: 'entry refused', hostile: { '/t4.git': 'good' } },
    { name: 'fingerprint as an object', kind: 'entry', batch: 'types', expected: 'entry refused', hostile: { '/t5.git': { ...g, fingerprint: { sha: fp } } } },
    { name: 'fingerprint missing', kind: 'entry', batch: 'types', expected: 'entry refused', hostile: { '/t6.git': { modified: 1, head: null, reference: null } } },
    { name: 'fingerprint not hex', kind: 'entry', batch: 'types', expected: 'entry refused', hostile: { '/t7.git': { ...g, fingerprint: 'z'.repeat(40) } } },
    { name: 'fingerprint with a newline', kind: 'entry', batch: 'types', expected: 'entry refused', hostile: { '/t8.git': { ...g, fingerprint: `${fp.slice(0, 39)}\n` } } },
    { name: 'modified as a string', kind: 'entry', batch: 'types', expected: 'entry refused', hostile: { '/t9.git': { ...g, modified: 'yesterday' } } },
    { name: 'modified negative', kind: 'entry', batch: 'types', expected: 'entry refused', hostile: { '/t10.git': { ...g, modified: -1 } } },
    { name: 'symlinks as a string', kind: 'entry', batch: 'types', expected: 'entry refused', hostile: { '/s1.git': { ...g, symlinks: '/link' } } },
    { name: 'symlinks pointing outside', kind: 'entry', batch: 'types', expected: 'entry refused', hostile: { '/s2.git': { ...g, symlinks: ['/../../outside-link'] } } },
    { name: 'symlink under a symlinked directory pointing outside', kind: 'entry', expected: 'entry refused; no link made outside', hostile: { '/s3.git': { ...g, symlinks: ['/evil-dir/link.git'] } } },
    { name: 'symlink naming the local manifest', kind: 'entry', expected: 'entry refused; the manifest stays a file', hostile: { '/s4.git': { ...g, symlinks: ['/manifest.js.gz'] } } },
    {
      name: 'unknown key holding 100000-deep nesting',
      kind: 'entry', batch: 'types',
      expected: 'entry refused (unknown value too deeply nested); the pass goes on',
      hostile: { '/n1.git': new RawJson(`{"fingerprint":"${fp}","modified":1,"head":null,"reference":null,"x":${deep(100_000, '{"a":', '}')}}`) },
    },
    {
      name: 'entry value 100000-deep array',
      kind: 'entry', batch: 'types',
      expected: 'entry refused (not an object)',
      hostile: { '/n2.git': new RawJson(deep(100_000, '[', ']')) },
    },
    // --- whole documents
    { name: 'invalid JSON', kind: 'document', expected: 'document refused: not valid JSON', body: () => Buffer.from('{"/good.git": '), error: /not valid JSON/ },
    { name: 'JSON with trailing garbage', kind: 'document', expected: 'document refused: not valid JSON', body: () => Buffer.from(`${JSON.stringify(real)} {`), error: /not valid JSON/ },
    { name: 'random bytes', kind: 'document', expected: 'document refused: not valid JSON', body: () => junk(4096), error: /not valid JSON/ },
    { name: 'JSON array', kind: 'document', expected: 'document refused: not an object', body: () => Buffer.from(JSON.stringify([real])), error: /expected a JSON object.*found an array/ },
    { name: 'JSON string', kind: 'document', expected: 'document refused: not an object', body: () => Buffer.from('"manifest"'), error: /expected a JSON object.*found string/ },
    { name: 'JSON null', kind: 'document', expected: 'document refused: not an object', body: () => Buffer.from('null'), error: /expected a JSON object.*found null/ },
    { name: 'JSON number', kind: 'document', expected: 'document refused: not an object', body: () => Buffer.from('12345'), error: /expected a JSON object.*found number/ },
    { name: '1000000-deep nested arrays', kind: 'document', expected: 'document refused (an array), no stack overflow', body: () => Buffer.from(deep(1_000_000, '[', ']')), error: /expected a JSON object.*found an array/ },
    { name: 'empty manifest {}', kind: 'document', expected: 'refused by the mass-purge guard; nothing deleted', body: () => Buffer.from('{}'), error: /remote manifest is empty while we hold \d+ repositories/ },
    { name: 'plain JSON over the size cap (6 MB > 4M)', kind: 'document', expected: 'document refused: size cap', body: huge, error: /larger than 4194304 bytes \(the manifest size cap\)/ },
    { name: 'gzip JSON inflating over the size cap', kind: 'document', gz: true, expected: 'document refused: size cap', body: () => gzipSync(huge()), error: /inflates to more than 4194304 bytes/ },
    { name: 'gzip bomb (64 MB of zeros in 64 KB)', kind: 'document', gz: true, expected: 'document refused: size cap', body: () => gzipSync(Buffer.alloc(64 * 1024 * 1024)), error: /inflates to more than 4194304 bytes/ },
    { name: 'truncated gzip', kind: 'document', gz: true, expected: 'document refused: truncated gzip', body: () => gzipSync(JSON.stringify(real)).subarray(0, 60), error: /truncated gzip data|corrupt gzip/ },
    { name: 'not gzip at a .gz URL', kind: 'document', gz: true, expected: 'document refused: bad magic bytes', body: () => Buffer.from(JSON.stringify(real)), error: /not gzip data \(bad magic bytes\)/ },
    { name: 'gzip of invalid JSON', kind: 'document', gz: true, expected: 'document refused: not valid JSON', body: () => gzipSync('{"/good.git": [1, 2'), error: /not valid JSON/ },
    {
      name: 'gzip with a corrupted deflate stream',
      kind: 'document',
      gz: true,
      expected: 'document refused: corrupt gzip',
      body: () => {
        const b = gzipSync(JSON.stringify(real));
        for (let i = 12; i < b.length - 8; i += 7) b[i] = b[i]! ^ 0x5a;
        return b;
      },
      error: /corrupt gzip data|truncated gzip data/,
    },
  ];

  const skip = new Set(['mirror', 'origin', 'conf/replica.conf']);
  // One pass per case, or per batch of reader-only cases (kept in the order of their first case).
  const units: ManifestCase[][] = [];
  const byBatch = new Map<string, ManifestCase[]>();
  for (const c of cases) {
    const unit = c.batch ? byBatch.get(c.batch) : undefined;
    if (unit) unit.push(c);
    else {
      units.push([c]);
      if (c.batch) byBatch.set(c.batch, units[units.length - 1]!);
    }
  }
  let fresh = 0;
  for (const unit of units) {
    const label = unit[0]!.batch ? `${unit[0]!.batch} (${unit.length} cases in one pass)` : unit[0]!.name;
    await t.test(label, async (t) => {
      const shared: string[] = [];
      const before = snapshot(dir, skip);
      const freshKey = `/fresh/pass-${String(++fresh).padStart(3, '0')}.git`;
      const hostile = unit.flatMap((c) => Object.entries(c.hostile ?? {}));
      const kindsBefore = new Map(hostile.filter(([k]) => !k.includes('\0')).map(([k]) => [k, kindOf(path.join(mirror, k))]));
      const c0 = unit[0]!;
      let body: Buffer;
      if (c0.body) body = c0.body();
      else {
        // The hostile entries go last, so a refusal cannot hide behind an early error.
        const doc: [string, unknown][] = [...held, [freshKey, good]];
        body = Buffer.from(`{${[...doc, ...hostile].map(([k, v]) => `${JSON.stringify(k)}:${jsonOf(v)}`).join(',')}}`);
      }
      site.serve({ body: c0.gz && !c0.body ? gzipSync(body) : body });
      const t0 = performance.now();
      const r = await pullNow(Boolean(c0.gz));
      lastStderr = r.stderr;
      pullMs += performance.now() - t0;
      const lines = r.stderr.split('\n');

      // Nothing beside the toplevel changed, no traversal target appeared, nothing ran.
      const after = snapshot(dir, skip);
      if (JSON.stringify(after) !== JSON.stringify(before)) {
        const gone = before.filter((l) => !after.includes(l));
        const came = after.filter((l) => !before.includes(l));
        shared.push(`outside the toplevel changed: -${JSON.stringify(gone)} +${JSON.stringify(came)}`);
      }
      for (const [k] of hostile) {
        if (k.includes('\0')) continue;
        const lexical = path.resolve(mirror, `.${k.startsWith('/') ? k : `/${k}`}`);
        if (!lexical.startsWith(`${mirror}/`) && lexical !== mirror && existsSync(lexical)) shared.push(`${lexical} exists`);
      }
      if (existsSync(pwned)) shared.push('a hostile value ran a command');
      // What the mirror held is untouched (same refs each pass; git fsck of all of it at the end).
      for (const [k, refs] of heldRefs) {
        const now = existsSync(path.join(mirror, k)) ? refsOf(path.join(mirror, k)) : '(gone)';
        if (now !== refs) shared.push(`${k} changed: ${now}`);
      }
      if (kindOf(path.join(mirror, 'manifest.js.gz')) !== 'file') shared.push('the local manifest is no longer a file');
      if (kindOf(path.join(mirror, 'objstore/README')) !== 'file') shared.push('the objstore directory changed');
      if (c0.kind !== 'document') {
        // The fresh good entry beside the hostile ones was mirrored. (It is left out of the next
        // pass's manifest, so that pass purges it: purges go on beside refusals.)
        const freshDir = path.join(mirror, freshKey);
        if (!existsSync(freshDir) || refsOf(freshDir) !== goodRefs) shared.push(`the good entry ${freshKey} was not mirrored`);
        else if (!fsckOk(freshDir).ok) shared.push(`git fsck ${freshKey} failed`);
      }

      for (const c of unit) {
        const problems = [...shared];
        let result: string;
        if (c.kind === 'document') {
          const line = lines.find((l) => c.error!.test(l));
          if (r.code === 0) problems.push('grok-pull exited 0');
          if (!line) problems.push(`no error matching ${c.error}: ${r.stderr.slice(0, 400)}`);
          result = `exit ${r.code}; ${(line ?? r.stderr.slice(0, 200)).replace(/^grok-pull: /, '').replaceAll(site.url, '<site>').trim()}`;
        } else {
          const named: string[] = [];
          for (const k of Object.keys(c.hostile ?? {})) {
            // 'refusing "<key>": why' (reading) or 'refusing "<key>" on this replica: it why' (disk)
            const line = lines.find((l) => l.includes(`refusing ${JSON.stringify(k)}:`) || l.includes(`refusing ${JSON.stringify(k)} on this replica:`));
            if (line) named.push(line.replace(/^grok-pull: /, '').replace(site.url, '<site>').trim());
            else if (c.kind === 'accepted') {
              if (!existsSync(path.join(mirror, k)) || refsOf(path.join(mirror, k)) !== goodRefs) problems.push(`${JSON.stringify(k)} was not mirrored`);
              else named.push(`${k} mirrored`);
            } else if (c.kind === 'literal') {
              const p = path.join(mirror, k);
              if (!existsSync(p) || !path.resolve(p).startsWith(`${mirror}/`)) problems.push(`${JSON.stringify(k)} neither refused nor kept as a literal name inside the toplevel`);
              else named.push(`kept inside the toplevel as ${path.relative(mirror, p)}`);
            } else problems.push(`no refusal naming ${JSON.stringify(k).slice(0, 80)} on stderr`);
            const was = kindsBefore.get(k);
            const now = was === undefined ? was : kindOf(path.join(mirror, k));
            if (c.kind === 'entry' && now !== was) problems.push(`${JSON.stringify(k)} went from ${was} to ${now} in the mirror`);
          }
          result = `${unit.length > 1 ? `[pass shared with the ${unit.length - 1} other "${c.batch}" cases] ` : ''}exit ${r.code}; ${named.join('; ')}`;
        }
        problems.push(...(c.verify?.() ?? []));
        t.same(problems, [], `${c.name}: ${c.expected}`);
        table.add(c.name, c.expected, problems.length === 0 ? result : `${result} -- ${problems.join('; ')}`, problems.length === 0);
      }
    });
  }

  // Two passes: a hostile entry lists an existing repository as its "symlink", then leaves the
  // manifest; purging it must not take the repository its symlink list named.
  await t.test('symlink list naming an existing repository, then purged', async (t) => {
    const problems: string[] = [];
    const doc = (extra: Record<string, unknown>) => {
      const d: Record<string, unknown> = {};
      for (const [k, e] of held) d[k] = e;
      return Buffer.from(JSON.stringify({ ...d, ...extra }));
    };
    site.serve({ body: doc({ '/symhost.git': { ...g, symlinks: ['/keep.git', '/pub'] } }) });
    const r1 = await pullNow();
    site.serve({ body: doc({}) });
    const r2 = await pullNow();
    for (const [k, refs] of heldRefs) {
      const now = existsSync(path.join(mirror, k)) ? refsOf(path.join(mirror, k)) : '(gone)';
      if (now !== refs) problems.push(`${k} changed: ${now}`);
    }
    if (kindOf(path.join(mirror, 'keep.git')) !== 'dir' || !fsckOk(path.join(mirror, 'keep.git')).ok) problems.push('/keep.git damaged');
    if (kindOf(path.join(mirror, 'pub/also.git')) !== 'dir') problems.push('/pub/also.git gone');
    // Either refused when listed (its symlinks name a repository and a directory of repositories), or
    // mirrored and then purged leaving what its symlink list named alone.
    const refusal = r1.stderr.split('\n').find((l) => l.includes('refusing "/symhost.git" on this replica:'));
    const left = r2.stderr.split('\n').filter((l) => /left \/(keep\.git|pub) alone/.test(l));
    if (!refusal && left.length !== 2) problems.push(`expected a refusal or warnings about leaving /keep.git and /pub alone: ${r1.stderr.slice(0, 300)} ${r2.stderr.slice(0, 300)}`);
    if (refusal && existsSync(path.join(mirror, 'symhost.git'))) problems.push('/symhost.git was refused but mirrored');
    const said = refusal ? [refusal] : left;
    const result = `first pass exit ${r1.code}, purge pass exit ${r2.code}; /keep.git and /pub/also.git intact; ${said.map((l) => l.replace(/^grok-pull: /, '')).join('; ')}`;
    t.same(problems, [], 'purging an entry never removes what its symlink list named unless it is our symlink');
    table.add('symlinks naming an existing repository and directory, then the entry is purged', 'the entry is refused or its symlinks left alone; the purge removes only /symhost.git', problems.length ? `${result} -- ${problems.join('; ')}` : result, problems.length === 0);
  });

  // A final clean pass with the real manifest, then everything the mirror holds passes git fsck.
  await t.test('afterwards: the mirror converges on the real manifest and every repository passes git fsck', async (t) => {
    site.serve({ body: Buffer.from(JSON.stringify(Object.fromEntries(held))) });
    const r = await pullNow();
    t.equal(r.code, 0, r.stderr);
    for (const k of held.keys()) t.ok(fsckOk(path.join(mirror, k)).ok, `git fsck ${k}`);
    const local = await readM(path.join(mirror, 'manifest.js.gz'));
    t.same(Object.keys(local).sort(), [...held.keys()].sort(), 'the local manifest lists exactly what was mirrored');
  });

  pullSeconds = (performance.now() - started) / 1000;
  pullCases = table.rows.length;
});

t.test('hostile local manifest files fed to grok-manifest', async (t) => {
  const started = performance.now();
  const dir = tmpDir(t, 'grok-hostile-m-');
  const top = path.join(dir, 'top');
  makeRepo(path.join(top, 'a.git'), { commits: 2 });
  makeRepo(path.join(top, 'b.git'), { commits: 1, date: 1_650_000_000 });
  const sentinel = path.join(dir, 'sentinel');
  mkdirSync(sentinel);
  writeFileSync(path.join(sentinel, 'canary.txt'), 'must not change\n');
  makeRepo(path.join(sentinel, 'out.git'));
  symlinkSync(path.join(sentinel, 'out.git'), path.join(top, 'out.git'));
  const file = path.join(dir, 'manifest.js.gz');
  const cfg = path.join(dir, 'grokmirror.conf');
  writeFileSync(cfg, `[core]\ntoplevel = ${top}\nmanifest = ${file}\nmanifest_max_size = 4M\n`);
  const run = (args: string[]) => runBin(BIN.manifest, ['--cfgfile', cfg, ...args]);
  const first = await run([]);
  t.equal(first.code, 0, first.stderr);
  const real = await readM(file);
  t.same(Object.keys(real).sort(), ['/a.git', '/b.git'], 'the symlink to a repository outside is not listed');
  const a = real['/a.git']!;
  const refsBefore = ['a.git', 'b.git'].map((r) => refsOf(path.join(top, r)));
  const skip = new Set(['top', 'manifest.js.gz', '.manifest.js.gz.lock']);
  const huge = () => {
    const parts: string[] = [];
    for (let i = 0; i < 60_000; i++) parts.push(`"/bulk/r${i}.git":${JSON.stringify(a)}`);
    return `{${parts.join(',')}}`;
  };

  interface LocalCase {
    readonly name: string;
    readonly expected: string;
    /** File bytes (gzip as stored, since the file name ends in .gz). */
    readonly bytes: () => Buffer;
    /** Whole-file refusals: the error; entry-level: the keys that must be dropped by name. */
    readonly error?: RegExp;
    readonly dropped?: readonly string[];
    readonly args?: readonly string[];
    readonly verify?: () => string[];
  }
  const doc = (extra: string) => gzipSync(`{"/a.git":${JSON.stringify(a)},"/b.git":${JSON.stringify(real['/b.git'])}${extra}}`);
  const hookArgs = [path.join(top, 'a.git')];
  const cases: LocalCase[] = [
    { name: 'local: invalid JSON', expected: 'refused, file left as it was (no silent regenerate)', bytes: () => gzipSync('{"/a.git": {'), error: /not valid JSON/ },
    { name: 'local: JSON array', expected: 'refused, file left as it was', bytes: () => gzipSync('[]'), error: /expected a JSON object/ },
    { name: 'local: JSON null', expected: 'refused, file left as it was', bytes: () => gzipSync('null'), error: /expected a JSON object/ },
    { name: 'local: 1000000-deep nested arrays', expected: 'refused, no stack overflow', bytes: () => gzipSync(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`), error: /expected a JSON object/ },
    { name: 'local: gzip bomb (64 MB of zeros)', expected: 'refused at the size cap', bytes: () => gzipSync(Buffer.alloc(64 * 1024 * 1024)), error: /inflates to more than 4194304 bytes/ },
    { name: 'local: JSON over the size cap', expected: 'refused at the size cap', bytes: () => gzipSync(huge()), error: /inflates to more than 4194304 bytes/ },
    { name: 'local: truncated gzip', expected: 'refused', bytes: () => doc('').subarray(0, 40), error: /truncated gzip data|corrupt gzip/ },
    { name: 'local: not gzip in a .gz file', expected: 'refused', bytes: () => Buffer.from(JSON.stringify(real)), error: /not gzip data/ },
    { name: 'local: traversal keys (full walk)', expected: 'entries dropped by name; a and b kept', bytes: () => doc(`,"/../../etc/x.git":${JSON.stringify(a)},"/a/../../y.git":${JSON.stringify(a)},"rel.git":${JSON.stringify(a)}`), dropped: ['/../../etc/x.git', '/a/../../y.git', 'rel.git'], args: [] },
    { name: 'local: NUL and newline keys (hook update)', expected: 'entries dropped by name; a updated', bytes: () => doc(`,"/n\\u0000.git":${JSON.stringify(a)},"/n\\n.git":${JSON.stringify(a)}`), dropped: ['/n\u0000.git', '/n\n.git'] },
    { name: 'local: hostile head, owner and fingerprint values (full walk)', expected: 'entries dropped by name', bytes: () => doc(`,"/h.git":${JSON.stringify({ ...a, head: '--upload-pack=x' })},"/o.git":${JSON.stringify({ ...a, owner: ['x\u001b[2J'] })},"/f.git":${JSON.stringify({ ...a, fingerprint: { x: 1 } })}`), dropped: ['/h.git', '/o.git', '/f.git'], args: [] },
    {
      name: 'local: hostile values beside the named repository (hook fast path)',
      expected: "the named entry is updated; the others' bytes are left as they are, never parsed or acted on (readers drop them)",
      bytes: () => doc(`,"/h.git":${JSON.stringify({ ...a, head: '--upload-pack=x' })},"/f.git":${JSON.stringify({ ...a, fingerprint: { x: 1 } })}`),
      dropped: [],
      verify: () => (gunzipSync(readFileSync(file)).toString().includes('"/h.git"') ? [] : ['the other entries were not left as they were']),
    },
    { name: 'local: unknown key holding 100000-deep nesting (full walk)', expected: 'entry dropped by name; the write does not overflow', bytes: () => doc(`,"/deep.git":{"fingerprint":"${a.fingerprint}","modified":1,"head":null,"reference":null,"x":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`), dropped: ['/deep.git'], args: [] },
    { name: 'local: entry for a symlink to a repository outside (purge walk)', expected: 'entry dropped (not a repository under the toplevel); the outside repository untouched', bytes: () => doc(`,"/out.git":${JSON.stringify(a)}`), dropped: [], args: ['-p'] },
    { name: 'local: empty object {}', expected: 'a full walk rebuilds it (the spec: an empty manifest means walk)', bytes: () => gzipSync('{}'), dropped: [], args: hookArgs },
  ];
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const problems: string[] = [];
      const bytes = c.bytes();
      writeFileSync(file, bytes);
      const before = snapshot(dir, skip);
      const r = await run([...(c.args ?? hookArgs)]);
      const after = snapshot(dir, skip);
      if (JSON.stringify(after) !== JSON.stringify(before)) problems.push(`outside the toplevel changed: ${JSON.stringify(after.filter((l) => !before.includes(l)))}`);
      if (['a.git', 'b.git'].map((x) => refsOf(path.join(top, x))).join('\n') !== refsBefore.join('\n')) problems.push('repositories changed');
      if (!fsckOk(path.join(sentinel, 'out.git')).ok || !fsckOk(path.join(top, 'a.git')).ok) problems.push('git fsck failed');
      let result: string;
      if (c.error) {
        const line = r.stderr.split('\n').find((l) => c.error!.test(l));
        if (r.code === 0) problems.push('exit 0');
        if (!line) problems.push(`no error matching ${c.error}: ${r.stderr.slice(0, 300)}`);
        if (!readFileSync(file).equals(bytes)) problems.push('the file was rewritten');
        result = `exit ${r.code}; ${line?.replace(/^grok-manifest: /, '').trim() ?? ''}; file unchanged`;
      } else {
        if (r.code !== 0) problems.push(`exit ${r.code}: ${r.stderr.slice(0, 300)}`);
        const now = await readM(file).catch((err: unknown) => ({ error: String(err) }) as Record<string, unknown>);
        if (JSON.stringify(Object.keys(now).sort()) !== JSON.stringify(['/a.git', '/b.git'])) problems.push(`manifest now lists ${JSON.stringify(Object.keys(now)).slice(0, 200)}`);
        const named = (c.dropped ?? []).map((k) => {
          const line = r.stderr.split('\n').find((l) => l.includes(`dropping entry ${JSON.stringify(k)}:`));
          if (!line) problems.push(`no warning naming ${JSON.stringify(k)}`);
          return line?.replace(/^grok-manifest: /, '').replace(file, '<manifest>').trim() ?? '';
        });
        result = `exit ${r.code}; manifest lists /a.git and /b.git${named.length ? `; ${named.join('; ')}` : ''}`;
      }
      problems.push(...(c.verify?.() ?? []));
      t.same(problems, [], `${c.name}: ${c.expected}`);
      table.add(c.name, c.expected, problems.length ? `${result} -- ${problems.join('; ')}` : result, problems.length === 0);
    });
  }
  manifestSeconds = (performance.now() - started) / 1000;
});

let manifestSeconds = 0;

t.test('the record', async (t) => {
  const file = table.write([
    `Seed ${SEED}. grok-pull part: ${pullCases} cases in ${pullSeconds.toFixed(1)} s (${passes} grok-pull runs taking ${(pullMs / 1000).toFixed(1)} s of it); grok-manifest part: ${table.rows.length - pullCases} cases in ${manifestSeconds.toFixed(1)} s.`,
    'Entry-level cases also check that a fresh good entry in the same manifest was mirrored (and passes git fsck); every case checks that nothing beside the toplevel changed, that the repositories held before keep the same refs; everything held passes git fsck at the end.',
  ]);
  t.comment(`hostile manifests: ${table.rows.length} cases, ${table.passed} handled as expected, ${table.rows.length - table.passed} not; ${file}`);
  t.equal(table.passed, table.rows.length, 'every case as expected');
});
