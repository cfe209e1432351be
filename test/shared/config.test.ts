import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { buildConfig, loadConfig } from '../../shared/config/config.js';
import { parseIni } from '../../shared/config/ini.js';
import { isGrokError } from '../../shared/errors.js';
import { FIXTURES } from '../helpers/fixture.js';
import { tmpDir } from '../helpers/tmp.js';

const load = (text: string) => buildConfig(parseIni(text, '/etc/grok.conf'));

t.test('a grokmirror 2.x config loads unchanged, typed and frozen', async (t) => {
  const c = loadConfig(path.join(FIXTURES, 'grokmirror.conf'));
  t.equal(c.core.toplevel, '/var/lib/git/mirror');
  t.equal(c.core.manifest, '/var/lib/git/mirror/manifest.js.gz');
  t.equal(c.core.objstore, '/var/lib/git/mirror/objstore');
  t.same(c.core.private, ['*/private/*']);
  t.same(c.manifest.ignore, ['/testing/*', '/private/*']);
  t.equal(c.manifest.pretty, false);
  t.equal(c.remote.manifest, 'https://git.example.org/manifest.js.gz');
  t.equal(c.pull.projectslist, '/var/lib/git/mirror/projects.list');
  t.equal(c.pull.purge, true);
  t.equal(c.pull.pull_threads, 5);
  t.same(c.pull.exclude, []);
  t.same(c.pull.include, ['*']);
  t.same(c.fsck.ignore_errors, ['notice:', 'warning: disabling bitmap writing', 'missingTaggerEntry']);
  t.equal(c.fsck.statusfile, '/var/lib/git/mirror/fsck.status.js');
  t.equal(c.fsck.extra_repack_flags_full, '--window=250 --depth=50');
  t.equal(c.fsck.precious, 'yes');
  t.same(c.warnings, [], 'no warnings for a stock config');
  t.ok(Object.isFrozen(c) && Object.isFrozen(c.core) && Object.isFrozen(c.manifest.ignore));
  t.ok(c.lastModified > 0);
});

t.test('defaults fill what the file leaves out, interpolated like file values', async (t) => {
  const c = load('[core]\ntoplevel = /srv/git\n');
  t.equal(c.core.manifest, '/srv/git/manifest.js.gz');
  t.equal(c.core.objstore, '/srv/git/objstore');
  t.equal(c.fsck.statusfile, '/srv/git/fsck.status.js');
  t.equal(c.pull.remotename, '_grokmirror');
  t.equal(c.pull.purgeprotect, 5);
  t.equal(c.core.manifest_max_size, 512 * 1024 * 1024);
  t.equal(c.pull.purge, false, 'empty or missing purge means no');
});

t.test('configparser details: ":" delimiter, case-insensitive keys, $$, [DEFAULT], blank lines in values', async (t) => {
  const c = load(
    [
      '[DEFAULT]',
      'base = /srv',
      '[core]',
      'TopLevel: ${base}/git',
      'log = /var/log/a$$b.log',
      '[manifest]',
      'ignore = /a/*',
      '',
      '    /b/*',
      '  # a comment inside a value is skipped',
      '    /c/*',
      '',
    ].join('\n'),
  );
  t.equal(c.core.toplevel, '/srv/git');
  t.equal(c.core.log, '/var/log/a$b.log');
  t.same(c.manifest.ignore, ['/a/*', '/b/*', '/c/*']);
});

t.test('booleans accept yes/no, true/false, on/off, 1/0 in any case', async (t) => {
  for (const [text, want] of [['yes', true], ['No', false], ['TRUE', true], ['off', false], ['1', true], ['0', false], ['on', true]] as const) {
    t.equal(load(`[core]\ntoplevel=/x\n[manifest]\npretty = ${text}\n`).manifest.pretty, want, text);
  }
});

t.test('unknown keys and sections warn and do not fail', async (t) => {
  const c = load('[core]\ntoplevel = /x\nfrobnicate = 1\n[weird]\nk = ${core:toplevel}/v\n');
  t.equal(c.warnings.length, 2);
  t.match(c.warnings[0], /grok\.conf:3: unknown key "frobnicate" in \[core\]/);
  t.match(c.warnings[1], /unknown section \[weird\]/);
  t.equal(c.extra.weird?.k, '/x/v');
});

t.test('keys and sections named like Object.prototype members are unknown, kept as data, and change nothing else', async (t) => {
  const c = load('[core]\ntoplevel = /x\nconstructor = 1\ntoString = 2\n__proto__ = 3\n[constructor]\nk = v\n[__proto__]\npolluted = yes\n[weird]\n__proto__ = p\nhasOwnProperty = h\n');
  t.match(c.warnings, [/unknown key "constructor" in \[core\]/, /unknown key "tostring" in \[core\]/, /unknown key "__proto__" in \[core\]/, /unknown section \[constructor\]/, /unknown section \[__proto__\]/, /unknown section \[weird\]/]);
  t.equal(c.warnings.length, 6);
  // Keys are lower-cased, as configparser does.
  t.same(Object.entries(c.extra).map(([k, v]) => [k, Object.entries(v)]), [['constructor', [['k', 'v']]], ['__proto__', [['polluted', 'yes']]], ['weird', [['__proto__', 'p'], ['hasownproperty', 'h']]]]);
  t.equal(Object.getPrototypeOf(c.extra), null);
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
  t.equal(c.extra.nosuch, undefined);
});

t.test('errors name the file, section, key and line', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['broken interpolation', '[core]\ntoplevel = /x\nmanifest = ${nosuch}/m.js\n', /grok\.conf:3: \[core\] manifest: \$\{nosuch\} refers to \[core\] nosuch, which is not set/],
    ['bad $', '[core]\ntoplevel = /x\nlog = /a$b\n', /grok\.conf:3: \[core\] log: "\$" must be followed by "\$" or "\{"/],
    ['cross-section miss', '[core]\ntoplevel = ${nope:x}\n', /grok\.conf:2: \[core\] toplevel: \$\{nope:x\} refers to \[nope\] x/],
    ['loop', '[core]\ntoplevel = ${manifest}\nmanifest = ${toplevel}\n', /nested deeper than 10 levels/],
    ['bad boolean', '[core]\ntoplevel = /x\n[manifest]\npretty = maybe\n', /grok\.conf:4: \[manifest\] pretty: expected yes\/no/],
    ['bad int', '[core]\ntoplevel = /x\n[pull]\npurgeprotect = 100\n', /grok\.conf:4: \[pull\] purgeprotect: expected a whole number from 1 to 99, got "100"/],
    ['bad size', '[core]\ntoplevel = /x\nmanifest_max_size = lots\n', /grok\.conf:3: \[core\] manifest_max_size: expected a size/],
    ['no core', '[pull]\npurge = yes\n', /section \[core\] is missing/],
    ['no toplevel', '[core]\nlog = /x\n', /\[core\] toplevel is required/],
    ['empty toplevel', '[core]\ntoplevel =\n', /\[core\] toplevel is required and is empty/],
    ['duplicate key', '[core]\ntoplevel = /x\ntoplevel = /y\n', /grok\.conf:3: key "toplevel" appears twice in \[core\]/],
    ['duplicate section', '[core]\ntoplevel = /x\n[core]\n', /grok\.conf:3: section \[core\] appears twice/],
    ['no header', 'toplevel = /x\n', /grok\.conf:1: .* comes before any \[section\] header/],
    ['no delimiter', '[core]\ntoplevel /x\n', /grok\.conf:2: expected "key = value" in \[core\]/],
  ];
  for (const [name, text, want] of cases) {
    t.throws(() => load(text), want, name);
  }
});

t.test('a missing config file is a clear error', async (t) => {
  const dir = tmpDir(t);
  try {
    loadConfig(path.join(dir, 'nope.conf'));
    t.fail('should throw');
  } catch (err) {
    t.ok(isGrokError(err, 'GROK_ERR_CONFIG_NOT_FOUND'));
    t.match((err as Error).message, /nope\.conf: cannot read config file \(ENOENT\)/);
  }
  const f = path.join(dir, 'crlf.conf');
  writeFileSync(f, '[core]\r\ntoplevel = /x\r\n');
  t.equal(loadConfig(f).core.toplevel, '/x', 'CRLF files load');
});

t.test('paths: absolute and normalised; relative, root, control characters and URLs refused by key and line', async (t) => {
  const c = load('[core]\ntoplevel = /srv/git/\nlog = /var/log//grok.log\n[pull]\nsocket = /run/grok/../grok.sock\n');
  t.equal(c.core.toplevel, '/srv/git');
  t.equal(c.core.log, '/var/log/grok.log');
  t.equal(c.pull.socket, '/run/grok.sock');
  t.equal(load('[core]\ntoplevel = /x\nlog =\n').core.log, '', 'empty: unset');
  t.equal(load('[core]\ntoplevel = /x\n[origin]\npreload_bundle_dir =\n[fsck]\npreload_bundle_outdir = /b\n').origin.preload_bundle_dir, '', 'an empty path stays empty (off), not the default');
  const cases: [string, string, RegExp][] = [
    ['toplevel /', '[core]\ntoplevel = /\n', /grok\.conf:2: \[core\] toplevel: may not be the filesystem root/],
    ['toplevel //.', '[core]\ntoplevel = //.\n', /grok\.conf:2: \[core\] toplevel: may not be the filesystem root/],
    ['toplevel /srv/..', '[core]\ntoplevel = /srv/..\n', /grok\.conf:2: \[core\] toplevel: may not be the filesystem root/],
    ['relative toplevel', '[core]\ntoplevel = mirror\n', /grok\.conf:2: \[core\] toplevel: must be an absolute path, got "mirror"/],
    ['dot toplevel', '[core]\ntoplevel = .\n', /grok\.conf:2: \[core\] toplevel: must be an absolute path/],
    ['relative manifest', '[core]\ntoplevel = /x\nmanifest = manifest.js.gz\n', /grok\.conf:3: \[core\] manifest: must be an absolute path, got "manifest\.js\.gz"/],
    ['file:// URL in [core] manifest', '[core]\ntoplevel = /x\nmanifest = file:///srv/m.js.gz\n', /grok\.conf:3: \[core\] manifest: must be an absolute path \(a URL is not a path here\)/],
    ['relative log', '[core]\ntoplevel = /x\nlog = grok.log\n', /grok\.conf:3: \[core\] log: must be an absolute path/],
    ['relative objstore', '[core]\ntoplevel = /x\nobjstore = objstore\n', /grok\.conf:3: \[core\] objstore: must be an absolute path/],
    ['relative projectslist', '[core]\ntoplevel = /x\n[pull]\nprojectslist = projects.list\n', /grok\.conf:4: \[pull\] projectslist: must be an absolute path/],
    ['relative socket', '[core]\ntoplevel = /x\n[pull]\nsocket = ~/grok.sock\n', /grok\.conf:4: \[pull\] socket: must be an absolute path/],
    ['relative statusfile', '[core]\ntoplevel = /x\n[fsck]\nstatusfile = status.js\n', /grok\.conf:4: \[fsck\] statusfile: must be an absolute path/],
    ['relative bundle_dir', '[core]\ntoplevel = /x\n[origin]\nbundle_dir = bundles\n', /grok\.conf:4: \[origin\] bundle_dir: must be an absolute path/],
    ['relative via interpolation', '[core]\ntoplevel = /x\n[pull]\nbase = rel\nprojectslist = ${base}/p.list\n', /grok\.conf:5: \[pull\] projectslist: must be an absolute path, got "rel\/p\.list"/],
    ['newline in a path', '[core]\ntoplevel = /x\nlog = /a\n  /b\n', /grok\.conf:3: \[core\] log: a path may not hold control characters/],
    ['NUL in a path', '[core]\ntoplevel = /x\nlog = /a\0b\n', /grok\.conf:3: \[core\] log: holds a NUL character/],
    ['NUL in a string', '[core]\ntoplevel = /x\n[pull]\ndefault_owner = a\0b\n', /grok\.conf:4: \[pull\] default_owner: holds a NUL character/],
    ['NUL in a list', '[core]\ntoplevel = /x\n[pull]\ninclude = a\0\n', /grok\.conf:4: \[pull\] include: holds a NUL character/],
    ['NUL in an unknown section', '[core]\ntoplevel = /x\n[weird]\nk = \0\n', /grok\.conf:4: \[weird\] k: holds a NUL character/],
    ['remote manifest not a URL', '[core]\ntoplevel = /x\n[remote]\nmanifest = manifest.js.gz\n', /grok\.conf:4: \[remote\] manifest: expected a http:\/\/, https:\/\/, file:\/\/ URL, got "manifest\.js\.gz"/],
    ['remote manifest with a host in file://', '[core]\ntoplevel = /x\n[remote]\nmanifest = file://manifest.js.gz\n', /grok\.conf:4: \[remote\] manifest: a file:\/\/ URL names an absolute path/],
    ['remote manifest over ftp', '[core]\ntoplevel = /x\n[remote]\nmanifest = ftp://h/m.js\n', /grok\.conf:4: \[remote\] manifest: expected a http/],
    ['preload bundle URL not http', '[core]\ntoplevel = /x\n[remote]\npreload_bundle_url = file:///b\n', /grok\.conf:4: \[remote\] preload_bundle_url: expected a http:\/\/, https:\/\/ URL/],
  ];
  for (const [name, text, want] of cases) t.throws(() => load(text), { code: 'GROK_ERR_CONFIG_VALUE', message: want }, name);
  t.equal(load('[core]\ntoplevel = /x\n[remote]\nmanifest = file://localhost/srv/m.js\n').remote.manifest, 'file://localhost/srv/m.js');
  t.equal(load('[core]\ntoplevel = /x\n[remote]\nmanifest = https://u:p@h/m.js.gz\n').remote.manifest, 'https://u:p@h/m.js.gz', 'credentials are kept (they are sent as Basic auth)');
});

t.test('paths that coincide are refused, naming both keys and lines', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['log = manifest', '[core]\ntoplevel = /x\nmanifest = /x/m.js\nlog = /x/m.js\n', /^\/etc\/grok\.conf:3: \[core\] manifest "\/x\/m\.js" is also \[core\] log \(\/etc\/grok\.conf:4\)/],
    ['log = default manifest', '[core]\ntoplevel = /x\nlog = ${toplevel}/manifest.js.gz\n', /\(default\): \[core\] manifest "\/x\/manifest\.js\.gz" is also \[core\] log \(\/etc\/grok\.conf:3\)/],
    ['log = the manifest written differently', '[core]\ntoplevel = /x\nmanifest = /x/m.js\nlog = /x//./m.js\n', /\[core\] manifest "\/x\/m\.js" is also \[core\] log/],
    ['statusfile = manifest', '[core]\ntoplevel = /x\n[fsck]\nstatusfile = /x/manifest.js.gz\n', /\[core\] manifest "\/x\/manifest\.js\.gz" is also \[fsck\] statusfile \(\/etc\/grok\.conf:4\)/],
    ['socket = statusfile', '[core]\ntoplevel = /x\n[pull]\nsocket = /x/fsck.status.js\n', /\[pull\] socket "\/x\/fsck\.status\.js" is also \[fsck\] statusfile/],
    ['projectslist = log', '[core]\ntoplevel = /x\nlog = /x/p\n[pull]\nprojectslist = /x/p\n', /\[core\] log "\/x\/p" is also \[pull\] projectslist/],
    ["log = the manifest's lock", '[core]\ntoplevel = /x\nlog = /x/.manifest.js.gz.lock\n', /\[core\] log "\/x\/\.manifest\.js\.gz\.lock" is also \[core\] manifest \(its lock file\)/],
    ["projectslist = the last-fetch state", '[core]\ntoplevel = /x\n[pull]\nprojectslist = /x/.manifest.js.gz.remote\n', /\[pull\] projectslist .* is also \[core\] manifest \(its last-fetch state file\)/],
    ['log = toplevel', '[core]\ntoplevel = /x\nlog = /x\n', /\[core\] log "\/x" is also \[core\] toplevel/],
    ['manifest = objstore', '[core]\ntoplevel = /x\nmanifest = /x/objstore\n', /\[core\] manifest "\/x\/objstore" is also \[core\] objstore/],
    ['log inside the objstore', '[core]\ntoplevel = /x\nlog = /x/objstore/log\n', /\[core\] log "\/x\/objstore\/log" lies inside \[core\] objstore/],
    ['objstore = toplevel', '[core]\ntoplevel = /x\nobjstore = /x\n', /\[core\] toplevel "\/x" is also \[core\] objstore/],
    ['toplevel inside objstore', '[core]\ntoplevel = /o/top\nobjstore = /o\n', /\[core\] toplevel "\/o\/top" lies inside \[core\] objstore/],
    ['bundle_dir = toplevel', '[core]\ntoplevel = /x\n[origin]\nbundle_dir = /x\n', /\[origin\] bundle_dir "\/x" is also \[core\] toplevel/],
    ['preload outdir = objstore', '[core]\ntoplevel = /x\n[fsck]\npreload_bundle_outdir = /x/objstore\n', /\[fsck\] preload_bundle_outdir "\/x\/objstore" is also \[core\] objstore/],
  ];
  for (const [name, text, want] of cases) t.throws(() => load(text), { code: 'GROK_ERR_CONFIG_VALUE', message: want }, name);
  t.doesNotThrow(() => load('[core]\ntoplevel = /x\nlog = /var/log/grok.log\n[fsck]\npreload_bundle_outdir = /b\n[origin]\nbundle_dir = /c\n'), 'distinct paths; preload_bundle_dir defaults to the outdir, which is fine');
  t.doesNotThrow(() => load('[core]\ntoplevel = /x\nobjstore = /objstores\n'), 'an objstore outside the toplevel');
});

t.test('interpolation: output is capped, each key expanded once (a "billion laughs" config fails fast)', async (t) => {
  const lines = ['[core]', 'toplevel = /x', '[pull]', 'l0 = xxxxxxxxxx'];
  for (let i = 1; i <= 9; i++) lines.push(`l${i} = ${`\${l${i - 1}}`.repeat(10)}`);
  lines.push('default_owner = ${l9}');
  const started = Date.now();
  t.throws(() => load(`${lines.join('\n')}\n`), { code: 'GROK_ERR_CONFIG_INTERPOLATION', message: /grok\.conf:14: \[pull\] default_owner: the value grows past 1048576 characters/ });
  t.ok(Date.now() - started < 5000, 'refused without building the value');
  const wide = ['[core]', 'toplevel = /x', '[pull]', `big = ${'y'.repeat(200_000)}`, `default_owner = ${'${big}'.repeat(6)}`].join('\n');
  t.throws(() => load(`${wide}\n`), /\[pull\] default_owner: the value grows past/);
  t.equal(load(['[core]', 'toplevel = /x', '[pull]', 'a = ab', `default_owner = ${'${a}'.repeat(1000)}`].join('\n')).pull.default_owner, 'ab'.repeat(1000));
});
