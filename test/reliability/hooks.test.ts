/**
 * Issue 23 item 4, hook timeouts: a hook that leaves a process behind holding its output
 * (`sh -c "sleep 1000 &"`) must not hold a grok-pull pass, a daemon's notice pass or grok-dumb-pull;
 * a hook that outruns its timeout is killed with everything it started; what is kept of its output is
 * bounded. Each hook writes the pids it starts to a file, so that the test can tell whether they
 * still live (and kill them, whatever the code under test did).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import type { Logger } from '../../shared/log.js';
import { HOOK_OUTPUT_MAX, runHooks } from '../../replica/execute/hooks.js';
import { pullTargets } from '../../replica/targeted.js';
import { Git } from '../../shared/git/index.js';
import { CaseTable } from '../helpers/case-table.js';
import { makeRepo, pushCommit } from '../helpers/git.js';
import { startTestOrigin } from '../helpers/origin.js';
import { pull, replicaConfig } from '../helpers/replica.js';
import { tmpDir } from '../helpers/tmp.js';

const table = new CaseTable('hooks', 'Hooks: timeouts, background processes, bounded output (issue 23 item 4)');
// Long enough that nothing in this file ends by itself: a hang shows as a missed deadline.
const DEADLINE_MS = 45_000;

function pidsIn(file: string): number[] {
  try {
    return readFileSync(file, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
/** Running (a zombie no reaper collected is dead: in a container, pid 1 may never reap it). */
const alive = (pid: number) => {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};
function killAll(file: string): void {
  for (const p of pidsIn(file)) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Resolves with the outcome, or 'hung' once the deadline passes. */
async function within<T>(p: Promise<T>, ms = DEADLINE_MS): Promise<T | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((res) => (timer = setTimeout(() => res('hung'), ms)));
  try {
    return await Promise.race([p, hung]);
  } finally {
    clearTimeout(timer);
  }
}

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: pino({ level: 'info' }, { write: (l: string) => void lines.push((JSON.parse(l) as { msg: string }).msg) }) as Logger, lines };
}

t.test('a pass whose post_work_complete_hook leaves "sleep 1000 &" behind ends; so does a notice pass', async (t) => {
  const dir = tmpDir(t);
  const top = path.join(dir, 'origin');
  makeRepo(path.join(top, 'a.git'));
  const origin = await startTestOrigin(t, top);
  const pids = path.join(dir, 'pids');
  t.teardown(() => killAll(pids));
  const hook = `sh -c "sleep 1000 & echo $$! >> ${pids}"`; // "$$": the config's interpolation
  const config = replicaConfig(path.join(dir, 'mirror'), origin.url, `post_work_complete_hook = ${hook}\npost_clone_complete_hook = ${hook}\npost_update_hook = ${hook}\n`);
  const full = await within(pull(config));
  const ended = full !== 'hung';
  table.add('grok-pull pass, three hooks each leaving "sleep 1000 &"', 'the pass ends (the hooks exited)', ended ? 'ended' : `still running after ${DEADLINE_MS / 1000} s`, ended);
  t.ok(ended, 'the pass ended');
  if (!ended) return;
  t.same(full.cloned, ['/a.git']);
  t.ok(pidsIn(pids).length >= 2 && pidsIn(pids).every(alive), 'the background processes were left alone (they are not the pass\'s to kill)');

  // The daemon's unit of work: a notice pass with the feed's entry.
  pushCommit(path.join(top, 'a.git'));
  await origin.app.inject({ method: 'POST', url: '/_grok/notify', payload: { paths: ['/a.git'] } });
  const entry = origin.store.get('/a.git')!;
  const targeted = await within(pullTargets(config, [{ key: '/a.git', entry }], { git: new Git(), log: pino({ level: 'silent' }) as Logger }));
  const ok = targeted !== 'hung' && targeted.updated.includes('/a.git');
  table.add('notice pass (grok-pull -o) with the same hooks', 'ends, the repository updated', targeted === 'hung' ? 'hung' : `ended, updated ${JSON.stringify(targeted.updated)}`, ok);
  t.ok(ok);
});

t.test('a hook over its timeout is killed with every process it started', async (t) => {
  const dir = tmpDir(t);
  const pids = path.join(dir, 'pids');
  t.teardown(() => killAll(pids));
  // sh records itself and a background child, then waits on a foreground one: three processes, all holding the pipes.
  const hook = `sh -c "echo $$ >> ${pids}; sleep 1000 & echo $! >> ${pids}; sleep 1000 & echo $! >> ${pids}; wait"`;
  const { log, lines } = capture();
  const res = await within(runHooks('post_work_complete_hook', [hook], { timeoutMs: 1000, graceMs: 300 }, log));
  const ended = res !== 'hung';
  await new Promise((r) => setTimeout(r, 200));
  const left = pidsIn(pids).filter(alive);
  const ok = ended && pidsIn(pids).length === 3 && left.length === 0;
  table.add('a hook running past its timeout, with two children', 'it and its children killed; the pass goes on; a warning', `${ended ? 'ended' : 'hung'}; ${left.length} of ${pidsIn(pids).length} processes alive`, ok);
  t.ok(ok, `alive: ${left.join(', ')}`);
  t.ok(lines.some((l) => /ran longer than 1 s; killed/.test(l)), lines.join('\n'));
});

t.test('output kept is bounded; failures are logged, never fatal', async (t) => {
  const { log, lines } = capture();
  const res = await within(runHooks('post_update_hook', ['sh -c "head -c 10000000 /dev/zero | tr \'\\\\000\' x; head -c 3000000 /dev/zero | tr \'\\\\000\' y >&2; exit 3"', '/nonexistent/hook', 'true'], {}, log));
  t.not(res, 'hung');
  const longest = Math.max(...lines.map((l) => l.length));
  const bounded = longest < HOOK_OUTPUT_MAX + 500 && lines.some((l) => /more characters not kept/.test(l));
  table.add('a hook writing 10 MB to stdout and 3 MB to stderr', `each kept to ${HOOK_OUTPUT_MAX} characters, the rest counted`, `longest log line ${longest} characters`, bounded);
  t.ok(bounded, `longest line ${longest}`);
  t.ok(lines.some((l) => /exited 3/.test(l)), 'the exit status is logged');
  t.ok(lines.some((l) => /nonexistent\/hook: spawn \/nonexistent\/hook ENOENT/.test(l)), 'a missing command is logged');
});

t.teardown(() => {
  table.write();
});
