import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { Git } from '../../shared/git/index.js';
import { silentLogger } from '../../shared/log.js';
import { startOrigin } from '../../origin/server/origin.js';
import { makeGrokmirrorFixture } from '../helpers/fixture.js';
import { fsckOk, git, pushCommit } from '../helpers/git.js';
import { readM } from '../helpers/manifest.js';
import { startTestOrigin, testSettings } from '../helpers/origin.js';
import { pull, replicaConfig } from '../helpers/replica.js';
import { tmpDir } from '../helpers/tmp.js';

const refsOf = (repo: string) => git([`--git-dir=${repo}`, 'for-each-ref', '--format=%(objectname) %(refname)']);

t.test('a chain origin -> replica -> replica converges (a replica is a valid origin)', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeGrokmirrorFixture(top);
  const origin = await startTestOrigin(t, top);
  const tier1 = path.join(dir, 'tier1');
  const c1 = replicaConfig(tier1, origin.url);
  await pull(c1);
  // grok-origin pointed at the replica's toplevel serves the next tier
  const middle = await startOrigin({ ...testSettings(tier1) }, { git: new Git(), log: silentLogger(), now: Date.now });
  t.teardown(() => middle.close());
  const tier2 = path.join(dir, 'tier2');
  const c2 = replicaConfig(tier2, middle.url);
  await pull(c2);
  const sha = pushCommit(path.join(top, 'pub/meta.git'), { branch: 'tiered' });
  await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/pub/meta.git'] } });
  const r1 = await pull(c1);
  t.same(r1.updated, ['/pub/meta.git']);
  // the first tier's grok-pull wrote its local manifest; the middle server reloads it
  await new Promise((r) => setTimeout(r, 700));
  const r2 = await pull(c2);
  t.same(r2.updated, ['/pub/meta.git'], 'the change travelled two tiers');
  for (const r of ['plain.git', 'pub/described.git', 'pub/meta.git', 'forks/fork1.git']) {
    t.equal(refsOf(path.join(tier2, r)), refsOf(path.join(top, r)), `${r}: tier 2 matches the origin`);
    t.ok(fsckOk(path.join(tier2, r)).ok);
  }
  t.equal(git([`--git-dir=${path.join(tier2, 'pub/meta.git')}`, 'rev-parse', 'refs/heads/tiered']), sha);
  const m0 = await readM(path.join(top, 'manifest.js.gz'));
  const m2 = await readM(path.join(tier2, 'manifest.js.gz'));
  for (const k of Object.keys(m0)) t.equal(m2[k]?.fingerprint, m0[k]!.fingerprint, `${k}: same fingerprint two tiers down`);
});

t.test('grokmirror-format manifests (1.x reference, no forkgroup) work, and grokmirror reads ours', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeGrokmirrorFixture(top);
  const origin = await startTestOrigin(t, top);
  // exactly what grokmirror 2.x wrote for this collection (its reference for the fork, Python's json)
  const expected = JSON.parse(readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), '../../../test/fixtures/grokmirror-2x/manifest.expected.json'), 'utf8')) as Record<string, unknown>;
  const remoteFile = path.join(dir, 'grokmirror-manifest.js');
  writeFileSync(remoteFile, execFileSync('python3', ['-c', 'import json,sys; print(json.dumps(json.load(sys.stdin)))'], { input: JSON.stringify(expected) }));
  const mirror = path.join(dir, 'mirror');
  const res = await pull(replicaConfig(mirror, origin.url, '', `file://${remoteFile}`));
  t.equal(res.cloned.length, 6);
  t.same(res.failed, []);
  t.ok(fsckOk(path.join(mirror, 'forks/fork1.git')).ok);
  const py = 'import gzip,json,sys; m=json.loads(gzip.open(sys.argv[1]).read()); assert all("fingerprint" in v and "reference" in v and "head" in v for v in m.values()); print(len(m))';
  t.equal(execFileSync('python3', ['-c', py, path.join(mirror, 'manifest.js.gz')], { encoding: 'utf8' }).trim(), '6', 'our local manifest is valid input for a grokmirror replica');
});
