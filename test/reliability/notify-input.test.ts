/**
 * Issue 23, items 7 and 10: what `/_grok/notify` makes of the paths it is given. Copies of one path
 * (in any spelling) are resolved and inspected once and named once in the answer and the log; a path
 * outside the toplevel is refused as such, not as a missing file below it; the number of paths and the
 * body size are bounded with a 413 that says which limit. The manifest on disk changes only for the
 * repository really named, and every repository ends `git fsck` clean.
 */
import { readFileSync, realpathSync, symlinkSync } from 'node:fs';
import { Writable } from 'node:stream';
import path from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { startOrigin } from '../../origin/server/origin.js';
import { Git } from '../../shared/git/index.js';
import { BIN } from '../helpers/fixture.js';
import { runBin } from '../helpers/cli.js';
import { fsckOk, makeRepo, pushCommit } from '../helpers/git.js';
import { readM } from '../helpers/manifest.js';
import { testSettings } from '../helpers/origin.js';
import { tmpDir } from '../helpers/tmp.js';

const dir = tmpDir(t, 'grok-notify-input-');
const top = path.join(dir, 'top');
const repo = path.join(top, 'pub/r.git');
const other = path.join(top, 'pub/other.git');
makeRepo(repo, { date: 1_600_000_000 });
makeRepo(other, { date: 1_600_000_001 });
const outside = path.join(dir, 'elsewhere.git');
makeRepo(outside);
// A symlinked path to the toplevel, as a hook sees it when the toplevel is configured through a link.
const linkedTop = path.join(dir, 'linked-top');
symlinkSync(top, linkedTop);
const manifest = path.join(top, 'manifest.js.gz');

const lines: string[] = [];
const log = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
const origin = await startOrigin(testSettings(top, 'notify_max_size = 2M\n'), { git: new Git(), log, now: Date.now });
t.teardown(() => origin.close());
const post = (payload: string | object, headers: Record<string, string> = {}) => origin.app.inject({ method: 'POST', url: '/_grok/notify', payload, headers });
const fingerprint = (r: string) => readFileSync(path.join(r, 'grokmirror.fingerprint'), 'utf8');

t.test('23.7: 10,000 copies of one path are one repository, inspected once, named once', async (t) => {
  const sha = pushCommit(repo, { date: 1_700_000_000 });
  const copies = Array.from({ length: 10_000 }, () => repo);
  const r = await post({ paths: copies });
  t.equal(r.statusCode, 200);
  const body = JSON.parse(r.payload) as { updated: string[]; unchanged: string[]; rejected: unknown[] };
  t.same(body.updated, ['/pub/r.git'], 'the repository is named once, not 10,000 times');
  t.same(body.rejected, []);
  t.equal((await readM(manifest))['/pub/r.git']!.fingerprint, fingerprint(repo), `the manifest has the push of ${sha.slice(0, 8)}`);

  // Variations: the same repository spelled as a key, with doubled, trailing and "." and ".."
  // segments, through the symlinked toplevel, in a text body.
  pushCommit(repo, { date: 1_700_000_100 });
  const spellings = Array.from({ length: 10_000 }, (_, i) =>
    [repo, '/pub/r.git', `${top}//pub/./r.git/`, path.join(top, `x${i}`, '..', 'pub/r.git') + '/'.repeat(i % 3), path.join(linkedTop, 'pub/r.git')][i % 5]!,
  );
  const mixed = await post({ paths: spellings });
  t.equal(mixed.statusCode, 200);
  t.same(JSON.parse(mixed.payload).updated, ['/pub/r.git'], 'five spellings x 2,000: one repository');
  const text = await post(`${spellings.slice(0, 5_000).join('\n')}\n${other}\n`, { 'content-type': 'text/plain' });
  t.equal(text.statusCode, 200);
  t.same(JSON.parse(text.payload).unchanged.sort(), ['/pub/other.git', '/pub/r.git'], 'text lines: each repository once');
});

t.test('23.7: copies of a bad path are rejected once and logged once', async (t) => {
  lines.length = 0;
  const r = await post({ paths: [...Array.from({ length: 5_000 }, () => '/pub/nosuch.git'), repo] });
  t.equal(r.statusCode, 200);
  t.same(JSON.parse(r.payload).rejected.map((x: { path: string }) => x.path), ['/pub/nosuch.git'], 'one rejection');
  const logged = lines.filter((l) => l.includes('/pub/nosuch.git'));
  t.equal(logged.length, 1, `one log line, not 5,000 (${logged.length})`);
  // 10,000 different bad paths: the answer lists each, the log stops after a few and counts the rest.
  lines.length = 0;
  const many = await post({ paths: Array.from({ length: 10_000 }, (_, i) => `/pub/nosuch-${i}.git`) });
  t.equal(many.statusCode, 404);
  t.equal(JSON.parse(many.payload).rejected.length, 10_000);
  t.ok(lines.length < 30, `log lines bounded (${lines.length})`);
  t.match(lines.join(''), /9980 more paths rejected/);
});

t.test('23.7: the number of paths and the body size are bounded, with a 413 that says which', async (t) => {
  const tooMany = await post({ paths: Array.from({ length: 10_001 }, (_, i) => `/r${i}`) });
  t.equal(tooMany.statusCode, 413);
  t.match(JSON.parse(tooMany.payload).error, /more than 10000 paths/);
  const tooBig = await post({ paths: ['x'.repeat(2 * 1024 * 1024)] });
  t.equal(tooBig.statusCode, 413);
  t.match(JSON.parse(tooBig.payload).error, /too large \(over 2097152 bytes\)/, 'names the limit');
  const textTooMany = await post(Array.from({ length: 10_001 }, () => '/r').join('\n'), { 'content-type': 'text/plain' });
  t.equal(textTooMany.statusCode, 413, 'text bodies too');
});

t.test('23.10: a path outside the toplevel is reported as outside the toplevel', async (t) => {
  const before = readFileSync(manifest);
  const cases: [string, RegExp][] = [
    ['/etc/passwd', /^outside the toplevel /],
    ['/nonexistent/x.git', /^outside the toplevel /],
    [outside, /^outside the toplevel /],
    [path.join(top, '..', 'elsewhere.git'), /^outside the toplevel /],
    [`${outside}/`, /^outside the toplevel /],
    ['/../../etc', /^outside the toplevel /],
    ['relative/x.git', /neither a path under the toplevel nor a valid manifest key/],
  ];
  const r = await post({ paths: cases.map((c) => c[0]) });
  t.equal(r.statusCode, 404);
  const rejected = JSON.parse(r.payload).rejected as { path: string; error: string }[];
  for (const [p, want] of cases) {
    const got = rejected.find((x) => x.path === p || x.path === p.replace(/\/+$/, '') || x.path === path.posix.normalize(p));
    t.match(got?.error, want, `${p}: ${got?.error}`);
    t.notMatch(got?.error ?? '', /no such file or directory/, `${p}: not "no such file" below the toplevel`);
  }
  t.match(rejected[0]!.error, `outside the toplevel ${realpathSync(top)}`, 'names the toplevel');
  t.same(readFileSync(manifest), before, 'the manifest is untouched');
  // A missing repository under the toplevel still says what it says.
  const missing = JSON.parse((await post({ paths: [path.join(top, 'pub/gone.git')] })).payload);
  t.match(missing.rejected[0].error, /no such file or directory/);
  // The hook, handing the notice to this server, prints the same words.
  const hook = await runBin(BIN.manifest, ['-n', '-m', manifest, '-t', top, outside]);
  t.not(hook.code, 0, 'the hook reports a failure');
  t.match(hook.stderr, /outside the toplevel/);
  for (const r of [repo, other, outside]) t.ok(fsckOk(r).ok, `${r} git fsck clean`);
  t.same(Object.keys(await readM(manifest)).sort(), ['/pub/other.git', '/pub/r.git'], 'the manifest lists only the two repositories');
});

