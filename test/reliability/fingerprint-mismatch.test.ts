/**
 * Issue 23 item 15: "fetched, but holds X where the origin lists Y" fired when the upstream (a tier)
 * updated a repository twice within a second, and the README read it as "a push whose hook did not
 * run". The two are told apart now: a fetch that brings refs other than the listed ones means the
 * repository changed after its entry was written (two updates close together): an info line, no
 * warning. A fetch that brings nothing new while the origin lists something else means the origin's
 * manifest was not updated after a change: a warning that says so.
 *
 * The real grok-pull against a site that serves the manifests a tier would have served at each
 * moment, relaying git to a real grok-origin.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { Git } from '../../shared/git/index.js';
import type { ManifestEntry } from '../../shared/manifest/entry.js';
import { currentFingerprint } from '../../shared/repo/refs.js';
import { runBin } from '../helpers/cli.js';
import { BIN } from '../helpers/fixture.js';
import { fsckOk, gitDir, makeRepo, pushCommit } from '../helpers/git.js';
import { startHostileSite } from '../helpers/hostile-site.js';
import { readM } from '../helpers/manifest.js';
import { startTestOrigin } from '../helpers/origin.js';
import { tmpDir } from '../helpers/tmp.js';

const refsOf = (repo: string) => gitDir(repo, ['for-each-ref', '--format=%(objectname) %(refname)']);

t.test('two updates close together are no warning; a manifest that stays behind is', async (t) => {
  const dir = tmpDir(t, 'grok-mismatch-');
  const top = path.join(dir, 'origin');
  const src = path.join(top, 'r.git');
  makeRepo(src, { commits: 2 });
  const origin = await startTestOrigin(t, top);
  const first = (await readM(path.join(top, 'manifest.js.gz')))['/r.git']!;
  const site = await startHostileSite(t, origin.url, new Set(['/r.git']));
  const mirror = path.join(dir, 'mirror');
  const conf = path.join(dir, 'replica.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${mirror}\nmanifest = ${path.join(mirror, 'manifest.js.gz')}\n[remote]\nsite = ${site.url}\nmanifest = ${site.url}/manifest.js\n[pull]\nretries = 1\n`);
  const serve = (e: ManifestEntry) => site.serve({ body: Buffer.from(JSON.stringify({ '/r.git': e })) });
  const pullNow = () => runBin(BIN.pull, ['-c', conf, '-n', '-v']);
  const warnings = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('grok-pull: warning:') || l.startsWith('grok-pull: error:'));
  const fp = async () => (await currentFingerprint(new Git(), src))!;

  serve(first);
  t.equal((await pullNow()).code, 0);

  // The upstream updates twice within a second: its manifest entry says the first update while
  // its repository already holds the second.
  pushCommit(src, { branch: 'master', date: 1_700_000_001 });
  const afterFirst = { ...first, fingerprint: await fp(), modified: 1_700_000_001 };
  pushCommit(src, { branch: 'master', date: 1_700_000_002 });
  const afterSecond = { ...first, fingerprint: await fp(), modified: 1_700_000_002 };
  serve(afterFirst);
  const r1 = await pullNow();
  t.equal(r1.code, 0, r1.stderr);
  t.same(warnings(r1.stderr), [], 'no warning: the repository simply changed again after its entry was written');
  t.match(r1.stderr, /\/r\.git: fetched [0-9a-f]{12}, not the [0-9a-f]{12} the origin's manifest lists: the repository changed after that entry was written/, 'an info line says what happened');
  t.equal(refsOf(path.join(mirror, 'r.git')), refsOf(src), 'the mirror holds the newest refs');
  // The second entry arrives: nothing to fetch, nothing to say.
  serve(afterSecond);
  const r2 = await pullNow();
  t.equal(r2.code, 0, r2.stderr);
  t.same(warnings(r2.stderr), [], 'the next entry lists what we hold');
  t.notMatch(r2.stderr, /fetched [0-9a-f]{12}, not the/, 'and no mismatch is reported');

  // A push whose hook did not run, seen through a manifest that lists something the origin never
  // serves: the first fetch brings new refs (info), the next brings nothing new (a warning).
  pushCommit(src, { branch: 'master', date: 1_700_000_003 });
  const stale = { ...afterSecond, fingerprint: 'f'.repeat(40), modified: 1_700_000_003 };
  serve(stale);
  const r3 = await pullNow();
  t.equal(r3.code, 0, r3.stderr);
  t.same(warnings(r3.stderr), [], 'first fetch: it did change after the entry was written, as far as this replica can tell');
  const r4 = await pullNow();
  t.equal(r4.code, 0, r4.stderr);
  const w = warnings(r4.stderr);
  t.equal(w.length, 1, `one warning: ${r4.stderr}`);
  t.match(w[0], /\/r\.git: the origin lists ffffffffffff but still serves [0-9a-f]{12}, as at the last fetch: its manifest entry was not updated after the repository changed/, 'the warning names the real cause');
  t.ok(fsckOk(path.join(mirror, 'r.git')).ok, 'git fsck');
});
