/**
 * kill -9 of the real grok-pull at 20 seeded random moments spread over an initial mirror of a
 * collection (20 repositories: a fork network with its objstore and a private fork, and plain ones).
 * After each kill the next pass must run to completion and the replica must have converged:
 * fingerprints and refs as the origin's, git fsck clean for every repository and objstore, no
 * half-made clone or temp file anywhere, no extra key in the local manifest or projects.list, no
 * lock left held (test/helpers/pull-crash.ts, convergence.ts).
 *
 * Most kills take the whole process group (grok-pull and the git processes it started, as systemd's
 * control-group kill or the OOM killer of a cgroup do); every fifth kills grok-pull alone, and its
 * orphaned git children are left to finish or fail before the next pass starts.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CaseTable } from '../helpers/case-table.js';
import { git } from '../helpers/git.js';
import { killModeOf, startPullCrashBench } from '../helpers/pull-crash.js';
import { rng, seedFor, spreadMoments } from '../helpers/seeded.js';

const SEED = seedFor(0x5eed_0001);
const KILLS = 20;

t.test('grok-pull killed with SIGKILL during an initial mirror converges on the next pass', async (t) => {
  const random = rng(SEED);
  t.comment(`seed ${SEED} (replay with GROK_SEED=${SEED})`);
  const table = new CaseTable('crash-pull-initial', 'kill -9 of grok-pull during an initial mirror, then the next pass');
  const b = await startPullCrashBench(t, table);

  // How long an uninterrupted initial mirror takes (the quicker of two: the first pays for cold caches).
  const measured: number[] = [];
  for (let i = 0; i < 2; i++) {
    rmSync(b.mirror, { recursive: true, force: true });
    const full = await b.pass();
    t.equal(full.code, 0, 'an uninterrupted initial mirror succeeds', { stderr: full.stderr });
    measured.push(full.ms);
  }
  t.same(await b.check(), [], 'and converges');
  const span = Math.min(...measured);

  let killed = 0;
  let converged = 0;
  for (const [i, delay] of spreadMoments(random, KILLS, span).entries()) {
    rmSync(b.mirror, { recursive: true, force: true });
    const r = await b.killAndConverge(`initial #${i + 1}`, delay, killModeOf(i));
    if (r.killed) killed++;
    if (r.ok) converged++;
  }

  // The leftover on purpose: a half-made clone beside a repository (as a kill leaves one) is no local
  // repository that left the manifest, so a purging pass neither refuses the purge nor removes anything.
  const beside = path.join(b.mirror, 'plain', '.p03.git.grok-init-0badc0de');
  git(['clone', '-q', '--mirror', path.join(b.mirror, 'plain/p03.git'), beside]);
  const planted = await b.pass(['-n', '-v']);
  const plantedOk = planted.code === 0 && /0 purged/.test(planted.stderr) && !/refusing to purge/.test(planted.stderr);
  table.add(
    'a half-made clone planted beside /plain/p03.git, then a purging pass (-n)',
    'exit 0, nothing purged, no purgeprotect refusal',
    plantedOk ? 'exit 0, 0 purged' : `exit ${planted.code}: ${planted.stderr.trim().split('\n').slice(-2).join(' / ')}`,
    plantedOk,
  );
  t.ok(plantedOk, 'a half-made clone is not taken for a repository to purge', { stderr: planted.stderr });
  rmSync(beside, { recursive: true, force: true });

  const summary = `grok-pull killed ${KILLS} times during an initial mirror (${killed} mid-pass, ${KILLS - killed} after it had finished): ${converged}/${KILLS} converged`;
  t.comment(summary);
  const file = table.write([
    `seed ${SEED}`,
    `collection: ${b.plain.length + b.net.all.length} repositories (a fork network of ${b.net.all.length} with an objstore, a private fork and an unrelated repository; ${b.plain.length} plain)`,
    `uninterrupted initial mirror: ${measured.map((m) => `${Math.round(m)} ms`).join(', ')}; kill moments spread over ${Math.round(span)} ms`,
    `convergence checks: ${Math.round(b.checkMs())} ms in all`,
    summary,
  ]);
  t.comment(`cases written to ${file}`);
});
