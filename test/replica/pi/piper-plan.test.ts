/** The piper's pure planner: where a run starts, what a commit is, where a rewritten epoch resumes (rows at each boundary). */
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { advance, classify, EMPTY_BLOB, isNew, planStart, RECENT_KEPT, resumeAfterRewrite, type EpochCommit, type PiperState } from '../../../replica/pi/piper-plan.js';

const oid = (n: number) => n.toString(16).padStart(40, '0');
const state = (over: Partial<PiperState> = {}): PiperState => ({ commit: oid(1), ct: 100, since: 50, handled: 0, recent: [], ...over });
const NOW = 1000;

t.test('planStart', async (t) => {
  const rows: [string, Parameters<typeof planStart>[0], string][] = [
    ['-l N wins over a state', { epoch: 0, state: state(), siblings: [], pipeLast: 3, now: NOW }, 'last'],
    ['-l 0 is not given', { epoch: 0, state: state(), siblings: [], pipeLast: 0, now: NOW }, 'continue'],
    ['a state: continue', { epoch: 0, state: state(), siblings: [], pipeLast: null, now: NOW }, 'continue'],
    ['no state, no sibling: init', { epoch: 0, state: null, siblings: [], pipeLast: null, now: NOW }, 'init'],
    ['no state, a newer epoch here: init', { epoch: 0, state: null, siblings: [{ epoch: 1, state: state() }], pipeLast: null, now: NOW }, 'init'],
    ['no state, the older epoch unfollowed: init', { epoch: 1, state: null, siblings: [{ epoch: 0, state: null }], pipeLast: null, now: NOW }, 'init'],
    ['older epoch took 1 commit: root from the start', { epoch: 1, state: null, siblings: [{ epoch: 0, state: state({ handled: 1 }) }], pipeLast: null, now: NOW }, 'root:null'],
    ['older epoch followed by grokmirror (handled unknown): root from the start', { epoch: 1, state: null, siblings: [{ epoch: 0, state: state({ handled: undefined as unknown as number }) }], pipeLast: null, now: NOW }, 'root:null'],
    ['older epoch took 0 commits: root from when following began', { epoch: 1, state: null, siblings: [{ epoch: 0, state: state({ handled: 0, since: 50 }) }], pipeLast: null, now: NOW }, 'root:50'],
    ['older epoch took 0 commits, since unknown: init', { epoch: 1, state: null, siblings: [{ epoch: 0, state: state({ handled: 0, since: 0 }) }], pipeLast: null, now: NOW }, 'init'],
    ['a newer epoch here wins over a followed older one: init', { epoch: 1, state: null, siblings: [{ epoch: 0, state: state({ handled: 1 }) }, { epoch: 2, state: null }], pipeLast: null, now: NOW }, 'init'],
    ['itself among the siblings is neither newer nor older', { epoch: 1, state: null, siblings: [{ epoch: 0, state: state({ handled: 1 }) }, { epoch: 1, state: state({ handled: 0, since: 0 }) }], pipeLast: null, now: NOW }, 'root:null'],
    ['the newest older epoch decides (took 1), not an older one (since unknown)', { epoch: 2, state: null, siblings: [{ epoch: 0, state: state({ handled: 0, since: 0 }) }, { epoch: 1, state: state({ handled: 1 }) }], pipeLast: null, now: NOW }, 'root:null'],
    ['the newest older epoch decides (since unknown), not an older one (took 1)', { epoch: 2, state: null, siblings: [{ epoch: 1, state: state({ handled: 0, since: 0 }) }, { epoch: 0, state: state({ handled: 1 }) }], pipeLast: null, now: NOW }, 'init'],
    ['an unfollowed epoch between is passed over', { epoch: 2, state: null, siblings: [{ epoch: 0, state: state({ handled: 1 }) }, { epoch: 1, state: null }], pipeLast: null, now: NOW }, 'root:null'],
  ];
  for (const [name, input, want] of rows) {
    const s = planStart(input);
    t.equal(s.kind === 'root' ? `root:${s.minCt}` : s.kind, want, name);
  }
  const init = planStart({ epoch: 0, state: null, siblings: [], pipeLast: null, now: NOW });
  t.equal(init.kind === 'init' && init.since, NOW, 'following begins now');
  const sinceOf = (sib: { epoch: number; state: PiperState | null }[]) => {
    const st = planStart({ epoch: 9, state: null, siblings: sib, pipeLast: null, now: NOW });
    return st.kind === 'init' || st.kind === 'root' ? st.since : -1;
  };
  t.equal(sinceOf([{ epoch: 0, state: state({ since: 70 }) }, { epoch: 1, state: state({ since: 30 }) }, { epoch: 2, state: state({ since: 0 }) }, { epoch: 3, state: null }]), 30, 'following began with the earliest known start (0 is unknown)');
  t.equal(sinceOf([{ epoch: 0, state: state({ since: 0 }) }, { epoch: 1, state: null }]), NOW, 'none known: now');
  const why = (input: Parameters<typeof planStart>[0]) => {
    const st = planStart(input);
    return st.kind === 'init' || st.kind === 'root' ? st.why : '';
  };
  t.equal(why({ epoch: 0, state: null, siblings: [{ epoch: 1, state: null }], pipeLast: null, now: NOW }), 'an older epoch: a newer one is already here');
  t.equal(why({ epoch: 0, state: null, siblings: [], pipeLast: null, now: NOW }), 'a list not followed before');
  t.equal(why({ epoch: 3, state: null, siblings: [{ epoch: 2, state: state({ handled: 4 }) }], pipeLast: null, now: NOW }), 'a new epoch after epoch 2, which took messages while followed');
  t.equal(why({ epoch: 3, state: null, siblings: [{ epoch: 2, state: state({ handled: 0, since: 0 }) }], pipeLast: null, now: NOW }), 'epoch 2 took nothing yet and when following began is unknown');
  t.equal(why({ epoch: 3, state: null, siblings: [{ epoch: 2, state: state({ handled: 0, since: 50 }) }], pipeLast: null, now: NOW }), 'a new epoch after epoch 2; messages committed from 1970-01-01T00:00:50.000Z on');
});

t.test('EMPTY_BLOB is the id git gives an empty file', async (t) => {
  t.equal(execFileSync('git', ['hash-object', '--stdin'], { input: '' }).toString().trim(), EMPTY_BLOB);
});

t.test('classify and isNew at their boundaries', async (t) => {
  t.equal(classify({ commit: oid(1), ct: 1, m: oid(9) }), 'message');
  t.equal(classify({ commit: oid(1), ct: 1, m: EMPTY_BLOB }), 'purged');
  t.equal(classify({ commit: oid(1), ct: 1, d: true }), 'deletion');
  t.equal(classify({ commit: oid(1), ct: 1 }), 'other');
  t.ok(isNew({ commit: oid(1), ct: 50 }, 50), 'committed exactly when following began: new');
  t.notOk(isNew({ commit: oid(1), ct: 49 }, 50), 'a second before: not');
  t.ok(isNew({ commit: oid(1), ct: 0 }, null), 'no bound: everything');
});

t.test('advance keeps the last RECENT_KEPT piped blobs', async (t) => {
  let s = state({ inflight: oid(7) });
  for (let i = 0; i < RECENT_KEPT + 1; i++) s = advance(s, { commit: oid(1000 + i), ct: 200 + i, m: oid(5000 + i) }, true);
  t.equal(s.recent.length, RECENT_KEPT, `exactly ${RECENT_KEPT} kept`);
  t.equal(s.recent[0], oid(5001), 'the oldest dropped');
  t.equal(s.handled, RECENT_KEPT + 1);
  t.notOk('inflight' in s, 'the in-flight note cleared');
  const skipped = advance(s, { commit: oid(3), ct: 9, d: true }, false);
  t.same(skipped.recent, s.recent, 'a deletion adds no blob');
  t.equal(advance(s, { commit: oid(4), ct: 9 }, false, false).handled, s.handled, 'an older commit is not counted');
  t.same(advance(s, { commit: oid(5), ct: 9, m: oid(6) }, false).recent, s.recent, 'a message not piped adds no blob');
  t.same(advance(s, { commit: oid(5), ct: 9 }, true).recent, s.recent, 'a commit without a message adds none, even counted as piped');
  const { handled: _h, ...grok } = state();
  const after = advance(grok, { commit: oid(8), ct: 9, m: oid(9) }, true);
  t.notOk('handled' in after, "grokmirror's state (no count) stays without one");
  t.same(after.recent, [oid(9)]);
});

t.test('resumeAfterRewrite', async (t) => {
  const c = (n: number, m?: string): EpochCommit => ({ commit: oid(n), ct: n, ...(m ? { m } : {}) });
  const newestFirst = [c(6, 'f'.repeat(40)), c(5, 'e'.repeat(40)), c(4, EMPTY_BLOB), c(3, 'c'.repeat(40)), c(2, 'b'.repeat(40))];
  const anchored = await resumeAfterRewrite(newestFirst, state({ ct: 4, recent: ['b'.repeat(40), 'c'.repeat(40)] }));
  t.equal(anchored.how, 'anchor');
  t.equal(anchored.anchor, oid(3), 'the newest commit whose message was piped');
  t.same(anchored.commits.map((x) => x.ct), [4, 5, 6], 'what follows it, oldest first');
  const newest = await resumeAfterRewrite(newestFirst, state({ recent: ['f'.repeat(40)] }));
  t.same(newest.commits, [], 'the newest message already piped: nothing');
  const byDate = await resumeAfterRewrite(newestFirst, state({ ct: 4, recent: ['0'.repeat(40)] }));
  t.equal(byDate.how, 'date');
  t.same(byDate.commits.map((x) => x.ct), [5, 6], 'none found: commits dated after the last handled one (not the one at it)');
});
