/**
 * Issue 16 item 11: a `modified` beyond what a Date can hold (a commit dated 99999999999999) failed
 * that repository on every replica, every pass, with "Invalid time value". Both sides clamp it,
 * clearly: grok-manifest lists at most 253402300799 (9999-12-31 23:59:59 UTC) and says so; grok-pull
 * takes any non-negative number a manifest lists (grokmirror's origin writes the commit's own date),
 * writes the clamped date where it shows one (info/web/last-modified, grokmirror.timestamp) and says so.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { MAX_MODIFIED } from '../../shared/manifest/entry.js';
import { runBin } from '../helpers/cli.js';
import { BIN } from '../helpers/fixture.js';
import { fsckOk, git, gitDir, makeRepo } from '../helpers/git.js';
import { startHostileSite } from '../helpers/hostile-site.js';
import { readM } from '../helpers/manifest.js';
import { startTestOrigin } from '../helpers/origin.js';
import { tmpDir } from '../helpers/tmp.js';

const FUTURE = 99_999_999_999_999;

/** A bare repository whose only commit is dated `date` (git's date parser would not take it; a crafted object does). */
function futureRepo(dir: string, date: number): void {
  makeRepo(dir);
  const tree = gitDir(dir, ['rev-parse', 'HEAD^{tree}']);
  const body = `tree ${tree}\nauthor A <a@example.org> ${date} +0000\ncommitter A <a@example.org> ${date} +0000\n\nfrom the future\n`;
  const commit = git([`--git-dir=${dir}`, 'hash-object', '-w', '-t', 'commit', '--stdin'], { input: body });
  gitDir(dir, ['update-ref', 'refs/heads/master', commit]);
}

t.test('a commit dated 99999999999999: listed clamped, mirrored on every pass', async (t) => {
  const dir = tmpDir(t, 'grok-future-');
  const top = path.join(dir, 'origin');
  futureRepo(path.join(top, 'future.git'), FUTURE);
  makeRepo(path.join(top, 'plain.git'));
  const file = path.join(top, 'manifest.js.gz');
  const conf = path.join(dir, 'origin.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${top}\nmanifest = ${file}\n`);
  const walk = await runBin(BIN.manifest, ['--cfgfile', conf]);
  t.equal(walk.code, 0, walk.stderr);
  t.match(walk.stderr, /\/future\.git: its newest commit is dated 99999999999999, past the year 9999; "modified" says 253402300799/, 'grok-manifest says it clamped');
  const listed = await readM(file);
  t.equal(listed['/future.git']!.modified, MAX_MODIFIED, 'and lists 9999-12-31 23:59:59');

  const origin = await startTestOrigin(t, top);
  // Our origin's manifest, and one as grokmirror writes it (the commit's own date, unclamped).
  const site = await startHostileSite(t, origin.url, new Set(Object.keys(listed)));
  for (const [name, modified] of [['ours', MAX_MODIFIED], ['grokmirror', FUTURE], ['1e300', 1e300]] as const) {
    await t.test(`a manifest listing modified ${modified} (${name})`, async (t) => {
      site.serve({ body: Buffer.from(JSON.stringify({ ...listed, '/future.git': { ...listed['/future.git'], modified } })) });
      const mirror = path.join(dir, `mirror-${name}`);
      const rconf = path.join(dir, `${name}.conf`);
      writeFileSync(rconf, `[core]\ntoplevel = ${mirror}\nmanifest = ${path.join(mirror, 'manifest.js.gz')}\n[remote]\nsite = ${site.url}\nmanifest = ${site.url}/manifest.js\n[pull]\nretries = 1\n`);
      for (const pass of [1, 2]) {
        const r = await runBin(BIN.pull, ['-c', rconf, '-n']);
        t.equal(r.code, 0, `pass ${pass}: ${r.stderr}`);
        t.notMatch(r.stderr, /Invalid time value/, `pass ${pass}: no "Invalid time value"`);
        if (pass === 1 && modified !== MAX_MODIFIED) t.match(r.stderr, /\/future\.git: "modified" \S+ lies past the year 9999; recorded as 9999-12-31 23:59:59/, 'grok-pull says it clamped');
      }
      const repo = path.join(mirror, 'future.git');
      t.equal(readFileSync(path.join(repo, 'info/web/last-modified'), 'utf8'), '9999-12-31 23:59:59\n', 'info/web/last-modified');
      t.equal(readFileSync(path.join(repo, 'grokmirror.timestamp'), 'utf8'), String(MAX_MODIFIED), 'grokmirror.timestamp');
      t.equal(gitDir(repo, ['rev-parse', 'master']), gitDir(path.join(top, 'future.git'), ['rev-parse', 'master']), 'the refs are mirrored');
      t.ok(fsckOk(repo).ok, 'git fsck');
      t.equal((await readM(path.join(mirror, 'manifest.js.gz')))['/future.git']!.modified, modified, 'the local manifest keeps what the origin listed (for the next tier)');
    });
  }
});
