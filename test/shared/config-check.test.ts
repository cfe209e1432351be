/**
 * A section or key one edit away from a known one is an error with "did you mean" (a typo'd `[pul]`
 * used to be a warning while the pass ran with the default [pull], include `*`); two edits away stays
 * a warning (a newer grokmirror's name, a site's own). And every command's --check-config.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { buildConfig } from '../../shared/config/config.js';
import { parseIni } from '../../shared/config/ini.js';
import { editDistance, oneEditAway } from '../../shared/config/near.js';
import { BIN } from '../helpers/fixture.js';
import { runBin } from '../helpers/cli.js';
import { tmpDir } from '../helpers/tmp.js';

const load = (text: string) => buildConfig(parseIni(text, '/etc/grok.conf'));

t.test('edit distance: one insertion, deletion, substitution or swap of neighbours is one edit', async (t) => {
  const rows: [string, string, number][] = [
    ['pull', 'pull', 0],
    ['pul', 'pull', 1],
    ['pulll', 'pull', 1],
    ['pall', 'pull', 1],
    ['plul', 'pull', 1],
    ['Pull', 'pull', 1],
    ['pu', 'pull', 2],
    ['pool', 'pull', 2],
    ['lupl', 'pull', 2],
    ['', 'ab', 2],
    ['fsck', 'pull', 4],
  ];
  for (const [a, b, d] of rows) {
    t.equal(editDistance(a, b), d, `${a} -> ${b}`);
    t.equal(editDistance(b, a), d, `${b} -> ${a}`);
  }
  t.equal(editDistance('fsck', 'pull', 1), 2, 'stops past max, answering max + 1');
  t.equal(oneEditAway('pul', ['core', 'pull', 'fsck']), 'pull');
  t.equal(oneEditAway('pu', ['core', 'pull', 'fsck']), null);
});

t.test('unknown sections: one edit away is an error naming the known one; two edits, a warning', async (t) => {
  const rows: [string, string | null][] = [
    ['pul', 'pull'],
    ['pulll', 'pull'],
    ['Pull', 'pull'],
    ['plul', 'pull'],
    ['remot', 'remote'],
    ['fsk', 'fsck'],
    ['cores', 'core'],
    ['orgin', 'origin'],
    ['pu', null],
    ['pool', null],
    ['remo', null],
    ['kernel.org', null],
  ];
  for (const [name, near] of rows) {
    const text = `[core]\ntoplevel = /srv/m\n[${name}]\ninclude = /a/*\n`;
    if (near) {
      t.throws(() => load(text), { code: 'GROK_ERR_CONFIG_SYNTAX', message: `/etc/grok.conf:3: unknown section [${name}]; did you mean [${near}]?` }, `[${name}]`);
    } else {
      const c = load(text);
      t.same(c.warnings, [`/etc/grok.conf:3: unknown section [${name}] (kept, not used)`], `[${name}]`);
    }
  }
});

t.test('unknown keys: one edit away from a key of their section is an error; two edits, a warning', async (t) => {
  const rows: [string, string, string | null][] = [
    ['core', 'toplvel', 'toplevel'],
    ['core', 'toplevell', 'toplevel'],
    ['core', 'loglevle', 'loglevel'],
    ['pull', 'refesh', 'refresh'],
    ['pull', 'exlude', 'exclude'],
    ['pull', 'includes', 'include'],
    ['core', 'tplvel', null],
    ['pull', 'refsh', null],
    ['pull', 'inclusion', null],
    // a key of another section is not a typo of this one's
    ['core', 'refresh', null],
  ];
  for (const [section, key, near] of rows) {
    const text = `[core]\ntoplevel = /srv/m\n${section === 'core' ? '' : `[${section}]\n`}${key} = x\n`;
    const line = section === 'core' ? 3 : 4;
    if (near) {
      t.throws(() => load(text), { code: 'GROK_ERR_CONFIG_SYNTAX', message: `/etc/grok.conf:${line}: unknown key "${key}" in [${section}]; did you mean "${near}"?` }, key);
    } else {
      t.same(load(text).warnings, [`/etc/grok.conf:${line}: unknown key "${key}" in [${section}] (ignored)`], key);
    }
  }
});

t.test('--check-config: every command prints the effective config, exits 0; a bad config exits 1 with its line', async (t) => {
  const dir = tmpDir(t);
  const good = path.join(dir, 'good.conf');
  writeFileSync(
    good,
    `[core]\ntoplevel = ${dir}/top\nlog = \${toplevel}/grok.log\n[remote]\nsite = https://mirror:s3cret@example.org\nmanifest = \${site}/manifest.js.gz\n[pull]\ninclude = /a/*\n  /b/*\n[origin]\nnotify_secret = hunter2\n[site-own]\nk = v\n`,
  );
  const bad = path.join(dir, 'bad.conf');
  writeFileSync(bad, `[core]\ntoplevel = ${dir}/top\n[pul]\ninclude = /a/*\n`);
  const commands: [string, string, string[]][] = [
    ['grok-pull', BIN.pull, ['-c']],
    ['grok-fsck', BIN.fsck, ['-c']],
    ['grok-origin', BIN.origin, ['-c']],
    ['grok-manifest', BIN.manifest, ['--cfgfile']],
    ['grok-bundle', BIN.bundle, ['-o', path.join(dir, 'bundles'), '-c']],
  ];
  for (const [name, bin, args] of commands) {
    const ok = await runBin(bin, [...args, good, '--check-config']);
    t.equal(ok.code, 0, `${name}: ${ok.stderr}`);
    t.equal(ok.stderr, `${name}: warning: ${good}:12: unknown section [site-own] (kept, not used)\n`, `${name}: the warnings on stderr`);
    const out = ok.stdout;
    t.match(out, `# ${good}: valid.`);
    t.match(out, `\n[core]\ntoplevel = ${dir}/top\nmanifest = ${dir}/top/manifest.js.gz\nlog = ${dir}/top/grok.log\nloglevel = info\n`, `${name}: defaults and interpolation`);
    t.match(out, '\nsite = https://***@example.org\nmanifest = https://***@example.org/manifest.js.gz\n', 'URL credentials hidden');
    t.match(out, '\nnotify_secret = ***\n');
    t.notMatch(out, /s3cret|hunter2/);
    t.match(out, '\ninclude = /a/*\n    /b/*\n', 'a list keeps its lines');
    t.match(out, '\nrefresh = 900\n');
    t.match(out, '\n[site-own]\nk = v\n');
    t.notOk(ok.stdout.includes('listening'), 'nothing started');
    const no = await runBin(bin, [...args, bad, '--check-config']);
    t.equal(no.code, 1, name);
    t.equal(no.stdout, '');
    t.equal(no.stderr, `${name}: error: ${bad}:3: unknown section [pul]; did you mean [pull]? [GROK_ERR_CONFIG_SYNTAX]\n`);
  }
  const usage = await runBin(BIN.manifest, ['--check-config']);
  t.equal(usage.code, 2, usage.stderr);
  t.match(usage.stderr, /--check-config checks the file given with --cfgfile/);
});
