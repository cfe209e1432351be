/**
 * Issue 16 item 10 and issue 23 item 9: config values that must be refused. The real commands are
 * run with configs an operator could write by mistake: the filesystem root or a relative path as the
 * toplevel, a relative or `file://` manifest path (relative to "/" under systemd), a log file that is
 * the manifest, a status file or socket path that names another file, a socket path naming a regular
 * file or a directory, a NUL, an interpolation that grows without bound. Each must fail at once with
 * one line naming the file, the line and the key, and touch nothing: the file a socket path names is
 * still there, the manifest a log path names is unchanged, nothing appears under "/" or the current
 * directory.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CaseTable } from '../helpers/case-table.js';
import { BIN } from '../helpers/fixture.js';
import { runBounded } from '../helpers/killable.js';
import { tmpDir } from '../helpers/tmp.js';

const table = new CaseTable('config-refusals', 'Config values refused by file, line and key');
/** A case that has to be killed at this point was accepted (grok-pull -o then runs for ever). */
const HANG_MS = 30_000;

interface Case {
  readonly name: string;
  /** The config; `${D}` is the case's directory. */
  readonly conf: string;
  readonly bin?: keyof typeof BIN;
  readonly args?: readonly string[];
  /** What the one error line must say after "<conf>:". */
  readonly want: RegExp;
  /** A refusal of command-line values rather than of the config: the whole line instead, and its exit status. */
  readonly line?: RegExp;
  readonly code?: number;
  /** The option that names the config (grok-manifest's is --cfgfile). */
  readonly configFlag?: string;
  /** Made before the run. */
  readonly setup?: (d: string) => void;
  /** Must hold after the run (nothing touched); returns a problem or null. */
  readonly after?: (d: string) => string | null;
}

const MANIFEST_TEXT = '{"/a.git": {"description": "kept", "fingerprint": "x", "modified": 1, "reference": null, "owner": null, "head": "ref: refs/heads/master"}}';
const unchanged = (file: string, text: string) => () => {
  let now: string | null;
  try {
    now = readFileSync(file, 'utf8');
  } catch (err) {
    now = `(${(err as NodeJS.ErrnoException).code})`; // ENXIO: a socket took its place
  }
  return now === text ? null : `${path.basename(file)} was changed, removed or replaced: ${now.slice(0, 40)}`;
};

const bomb = (): string => {
  const lines = ['l0 = xxxxxxxxxxxxxxxx'];
  for (let i = 1; i <= 9; i++) lines.push(`l${i} = ${`\${l${i - 1}}`.repeat(12)}`);
  return lines.join('\n');
};

const cases: Case[] = [
  { name: 'toplevel = /', conf: '[core]\ntoplevel = /\n[remote]\nmanifest = http://127.0.0.1:9/m.js\n', want: /:2: \[core\] toplevel: may not be the filesystem root/, after: () => (existsSync('/manifest.js.gz') || existsSync('/.manifest.js.gz.lock') ? 'wrote at the filesystem root' : null) },
  { name: 'toplevel = / written as /srv/..', conf: '[core]\ntoplevel = /srv/..\n[remote]\nmanifest = http://127.0.0.1:9/m.js\n', want: /:2: \[core\] toplevel: may not be the filesystem root/ },
  { name: 'a relative toplevel', conf: '[core]\ntoplevel = mirror\n[remote]\nmanifest = http://127.0.0.1:9/m.js\n', want: /:2: \[core\] toplevel: must be an absolute path, got "mirror"/, after: (d) => (existsSync(path.join(d, 'mirror')) ? 'made mirror/ in the current directory' : null) },
  { name: 'a file:// URL in [core] manifest', conf: '[core]\ntoplevel = ${D}/top\nmanifest = file:///srv/manifest.js.gz\n[remote]\nmanifest = http://127.0.0.1:9/m.js\n', want: /:3: \[core\] manifest: must be an absolute path \(a URL is not a path here\)/, after: (d) => (existsSync(path.join(d, 'file:')) ? 'made file:/ in the current directory' : null) },
  { name: 'a relative [core] manifest', conf: '[core]\ntoplevel = ${D}/top\nmanifest = manifest.js.gz\n[remote]\nmanifest = http://127.0.0.1:9/m.js\n', want: /:3: \[core\] manifest: must be an absolute path, got "manifest\.js\.gz"/ },
  { name: 'a relative [pull] projectslist', conf: '[core]\ntoplevel = ${D}/top\n[remote]\nmanifest = http://127.0.0.1:9/m.js\n[pull]\nprojectslist = projects.list\n', want: /:6: \[pull\] projectslist: must be an absolute path/ },
  { name: '[remote] manifest that is no URL', conf: '[core]\ntoplevel = ${D}/top\n[remote]\nmanifest = manifest.js.gz\n', want: /:4: \[remote\] manifest: expected a http:\/\/, https:\/\/, file:\/\/ URL/ },
  {
    name: 'log = the manifest',
    conf: '[core]\ntoplevel = ${D}/top\nmanifest = ${D}/top/manifest.js\nlog = ${D}/top/manifest.js\n[remote]\nmanifest = http://127.0.0.1:9/m.js\n',
    want: /:3: \[core\] manifest ".*\/top\/manifest\.js" is also \[core\] log \(.*:4\)/,
    setup: (d) => (mkdirSync(path.join(d, 'top'), { recursive: true }), writeFileSync(path.join(d, 'top/manifest.js'), MANIFEST_TEXT)),
    after: (d) => unchanged(path.join(d, 'top/manifest.js'), MANIFEST_TEXT)(),
  },
  {
    name: 'grok-fsck: statusfile = the manifest',
    bin: 'fsck',
    conf: '[core]\ntoplevel = ${D}/top\n[fsck]\nstatusfile = ${D}/top/manifest.js.gz\n',
    want: /\(default\): \[core\] manifest ".*\/top\/manifest\.js\.gz" is also \[fsck\] statusfile \(.*:4\)/,
    setup: (d) => (mkdirSync(path.join(d, 'top'), { recursive: true }), writeFileSync(path.join(d, 'top/manifest.js.gz'), 'not json, but ours')),
    after: (d) => unchanged(path.join(d, 'top/manifest.js.gz'), 'not json, but ours')(),
  },
  {
    name: '[pull] socket naming a regular file (grok-pull -o)',
    args: ['-o'],
    conf: '[core]\ntoplevel = ${D}/top\n[remote]\nmanifest = http://127.0.0.1:9/m.js\n[pull]\nsocket = ${D}/precious.txt\nrefresh = 3600\n',
    want: /:6: \[pull\] socket: .*\/precious\.txt is a file that is not a socket; refusing to replace it/,
    setup: (d) => writeFileSync(path.join(d, 'precious.txt'), 'do not delete'),
    after: (d) => unchanged(path.join(d, 'precious.txt'), 'do not delete')(),
  },
  {
    name: '[pull] socket naming a directory (grok-pull -o)',
    args: ['-o'],
    conf: '[core]\ntoplevel = ${D}/top\n[remote]\nmanifest = http://127.0.0.1:9/m.js\n[pull]\nsocket = ${D}/somedir\nrefresh = 3600\n',
    want: /:6: \[pull\] socket: .*\/somedir is a directory; refusing/,
    setup: (d) => mkdirSync(path.join(d, 'somedir')),
    after: (d) => (existsSync(path.join(d, 'somedir')) ? null : 'the directory was removed'),
  },
  { name: '[pull] socket = the status file', conf: '[core]\ntoplevel = ${D}/top\n[remote]\nmanifest = http://127.0.0.1:9/m.js\n[pull]\nsocket = ${D}/top/fsck.status.js\n', want: /:6: \[pull\] socket ".*fsck\.status\.js" is also \[fsck\] statusfile/ },
  { name: 'the objstore as the toplevel', conf: '[core]\ntoplevel = ${D}/top\nobjstore = ${D}/top/\n[remote]\nmanifest = http://127.0.0.1:9/m.js\n', want: /:2: \[core\] toplevel ".*\/top" is also \[core\] objstore \(.*:3\)/ },
  { name: 'a NUL in a path', conf: '[core]\ntoplevel = ${D}/top\nlog = ${D}/a\0b.log\n[remote]\nmanifest = http://127.0.0.1:9/m.js\n', want: /:3: \[core\] log: holds a NUL character/ },
  { name: 'a NUL in a string', conf: '[core]\ntoplevel = ${D}/top\n[remote]\nmanifest = http://127.0.0.1:9/m.js\n[pull]\ndefault_owner = a\0b\n', want: /:6: \[pull\] default_owner: holds a NUL character/ },
  { name: 'an interpolation that grows to 12^9 characters', conf: `[core]\ntoplevel = \${D}/top\n[remote]\nmanifest = http://127.0.0.1:9/m.js\n[pull]\n${bomb()}\ndefault_owner = \${l9}\n`, want: /:16: \[pull\] default_owner: the value grows past 1048576 characters when interpolated/ },
  {
    name: 'grok-manifest: -l naming the manifest',
    bin: 'manifest',
    configFlag: '--cfgfile',
    code: 2,
    args: ['-l', '${D}/top/m.js'],
    conf: '[core]\ntoplevel = ${D}/top\nmanifest = ${D}/top/m.js\n',
    want: /./,
    line: /^grok-manifest: error: the log file and the manifest are the same file \(.*\/top\/m\.js\); give each its own path \[GROK_ERR_USAGE\]$/,
    setup: (d) => (mkdirSync(path.join(d, 'top'), { recursive: true }), writeFileSync(path.join(d, 'top/m.js'), MANIFEST_TEXT)),
    after: (d) => unchanged(path.join(d, 'top/m.js'), MANIFEST_TEXT)(),
  },
  { name: 'grok-origin: a relative [origin] bundle_dir', bin: 'origin', args: ['--listen', '127.0.0.1:0'], conf: '[core]\ntoplevel = ${D}/top\n[origin]\nbundle_dir = bundles\n', want: /:4: \[origin\] bundle_dir: must be an absolute path/ },
];

t.test('configs that must be refused: one line naming file, line and key; nothing touched', async (t) => {
  const root = tmpDir(t, 'grok-config-refusals-');
  for (const [i, c] of cases.entries()) {
    const d = path.join(root, String(i));
    mkdirSync(d);
    c.setup?.(d);
    const conf = path.join(d, 'grok.conf');
    writeFileSync(conf, c.conf.replaceAll('${D}', d));
    const bin = BIN[c.bin ?? 'pull'];
    const r = await runBounded(bin, [c.configFlag ?? '-c', conf, ...(c.args ?? []).map((a) => a.replaceAll('${D}', d))], HANG_MS, {}, d);
    const lines = r.stderr.trim().split('\n').filter((l) => l !== '');
    const line = lines[lines.length - 1] ?? '';
    const named = c.line ? c.line.test(line) : line.startsWith(`${path.basename(bin, '.js')}: error: ${conf}`) && c.want.test(line) && /\[GROK_ERR_CONFIG_(VALUE|INTERPOLATION)\]$/.test(line);
    const touched = c.after?.(d) ?? null;
    const ok = !r.overran && r.code === (c.code ?? 1) && lines.length === 1 && named && touched === null;
    const result = r.overran ? `accepted: still running after ${HANG_MS / 1000} s${touched ? `; ${touched}` : ''}` : `exit ${r.code}: ${line.replace(root, '<dir>')}${lines.length > 1 ? ` (+${lines.length - 1} lines)` : ''}${touched ? `; ${touched}` : ''}`;
    t.ok(table.add(c.name, c.line ? `exit ${c.code ?? 1}, one line naming both; nothing touched` : 'exit 1, one line naming file:line and the key; nothing touched', result, ok), c.name);
  }
});

t.teardown(() => {
  table.write('Each config is run by the real command (grok-pull unless named; "-o" where the daemon is what reads the value).');
});
