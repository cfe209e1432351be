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
