/**
 * kill -9 of the real grok-pull at 20 seeded random moments during incremental passes: between
 * rounds the origin gets pushes (to forks too, whose objects the replica feeds to its objstore), new
 * repositories, a new fork borrowing from the origin's objstore, a removal, and the replica's
 * grok-fsck asks for reclones. After each kill the next pass must run to completion and the replica
 * must have converged (see crash-pull-initial.test.ts for what that means and how kills are made).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { borrowFrom } from '../../shared/objstore/index.js';
import { CaseTable } from '../helpers/case-table.js';
import { git, makeRepo, pushCommit } from '../helpers/git.js';
import { killModeOf, startPullCrashBench } from '../helpers/pull-crash.js';
import { pick, rng, seedFor, spreadMoments } from '../helpers/seeded.js';

const SEED = seedFor(0x5eed_0002);
const KILLS = 20;

t.test('grok-pull killed with SIGKILL during incremental passes converges on the next pass', async (t) => {
  const random = rng(SEED);
  t.comment(`seed ${SEED} (replay with GROK_SEED=${SEED})`);
  const table = new CaseTable('crash-pull-incremental', 'kill -9 of grok-pull during incremental passes, then the next pass');
  const b = await startPullCrashBench(t, table);
  const { net, top } = b;
  const first = await b.pass();
  t.equal(first.code, 0, 'the initial mirror', { stderr: first.stderr });

  const removed = new Set<string>();
  const events: string[] = [];
  /** One round of changes at the origin, told to it as hooks would. */
  const changeRound = async (round: number) => {
    const changed: string[] = [];
    const candidates = [...b.plain, ...net.forks, net.upstream, net.forkOfFork, net.privateFork].filter((r) => !removed.has(r));
    for (let k = 0; k < 2; k++) {
      const r = pick(random, candidates);
      pushCommit(r, { branch: `round-${round}-${k}`, date: 1_710_000_000 + round * 100 + k, message: `round ${round}` });
      changed.push(r);
    }
    if (round > 0 && round % 5 === 0) {
      const fresh = path.join(top, `new/n${round}.git`);
      makeRepo(fresh, { commits: 3, date: 1_720_000_000 + round });
      changed.push(fresh);
      events.push(`round ${round}: new repository /new/n${round}.git`);
    }
    if (round === 7) {
      // A new fork borrowing from the origin's objstore: the replica clones it against its own.
      const fork = path.join(top, 'pub/forks/late.git');
      git(['clone', '-q', '--bare', '--no-local', net.upstream, fork]);
      pushCommit(fork, { branch: 'late-work', date: 1_720_100_000 });
      const storeObjects = readFileSync(path.join(net.upstream, 'objects/info/alternates'), 'utf8').trim();
      await borrowFrom(fork, path.dirname(storeObjects));
      changed.push(fork);
      events.push('round 7: new fork /pub/forks/late.git in the forkgroup');
    }
    if (round === 12) {
      // A fork leaves the origin (recorded as grok-manifest -x would); the replica purges it.
      rmSync(net.doomed, { recursive: true, force: true });
      removed.add(net.doomed);
      await b.origin.store.apply([{ key: '/pub/forks/doomed.git', entry: null }]);
      events.push('round 12: /pub/forks/doomed.git removed');
    }
    if (round > 0 && round % 4 === 0) {
      // grok-fsck on the replica found damage and asks for a reclone.
      const victim = pick(random, b.plain);
      writeFileSync(path.join(b.mirror, path.relative(top, victim), 'grokmirror.reclone'), 'asked for by the test\n');
      events.push(`round ${round}: reclone of /${path.relative(top, victim)} asked for`);
    }
    await b.notify(changed);
  };

  // A warm-up round of the usual size measures how long an incremental pass takes.
  await changeRound(0);
  const warm = await b.pass();
  t.equal(warm.code, 0, 'an uninterrupted incremental pass succeeds', { stderr: warm.stderr });
  t.same(await b.check(), [], 'and converges');

  let killed = 0;
  let converged = 0;
  for (const [i, delay] of spreadMoments(random, KILLS, warm.ms).entries()) {
    await changeRound(i + 1);
    const r = await b.killAndConverge(`incremental #${i + 1}`, delay, killModeOf(i));
    if (r.killed) killed++;
    if (r.ok) converged++;
  }

  const summary = `grok-pull killed ${KILLS} times during incremental passes (${killed} mid-pass, ${KILLS - killed} after it had finished): ${converged}/${KILLS} converged`;
  t.comment(summary);
  const file = table.write([
    `seed ${SEED}`,
    `collection: ${b.plain.length + net.all.length} repositories at first; each round pushes to two, and ${events.join('; ')}`,
    `uninterrupted incremental pass: ${Math.round(warm.ms)} ms; kill moments spread over it`,
    `convergence checks: ${Math.round(b.checkMs())} ms in all`,
    summary,
  ]);
  t.comment(`cases written to ${file}`);
});
