import t from 'tap';
import { MAX_TIPS, newTips, planReference, tipsOf, type Candidate, type CandidateState } from '../../../replica/dumb/tips.js';

const oid = (n: number) => n.toString(16).padStart(40, '0');
const m = (o: Record<string, string>) => new Map(Object.entries(o));

t.test('planReference: which objstore, if any, a clone (or a fetch) borrows from', async (t) => {
  const c = (state: CandidateState, store: string | null = null): Candidate => ({ path: '/top/h/holder.git', state, store });
  const rows: [string, string | null, Candidate | null, ReturnType<typeof planReference>][] = [
    ['no index row for any tip: plain clone', null, null, { kind: 'none', why: 'no mirror holds any of its tips' }],
    ['holder a member of an objstore: that objstore', null, c('member', '/top/objstore/s.git'), { kind: 'store', store: '/top/objstore/s.git' }],
    ['holder in no objstore: a new one with it as first member', null, c('standalone'), { kind: 'new-store', holder: '/top/h/holder.git' }],
    ['stale row, holder gone: forget it, ask again', null, c('gone'), { kind: 'forget', path: '/top/h/holder.git' }],
    ['stale row, tips gone from the holder: record what it holds, ask again', null, c('lacks-tips'), { kind: 'rerecord', path: '/top/h/holder.git' }],
    ['holder a partial clone or opted out: nothing', null, c('not-lendable'), { kind: 'none', why: '/top/h/holder.git may not lend' }],
    ['holder borrows straight from a sibling: nothing (never a sibling as reference)', null, c('borrows-elsewhere'), { kind: 'none', why: '/top/h/holder.git borrows from outside the objstore directory' }],
    ['member with no objstore named (inconsistent): nothing', null, c('member', null), { kind: 'none', why: '/top/h/holder.git: no objstore named' }],
    ['asking mirror a member already: fetch as it is', '/top/objstore/s.git', c('member', '/top/objstore/t.git'), { kind: 'none', why: 'a member of /top/objstore/s.git already' }],
    ['asking mirror a member, no row: fetch as it is', '/top/objstore/s.git', null, { kind: 'none', why: 'a member of /top/objstore/s.git already' }],
  ];
  for (const [name, own, cand, want] of rows) t.same(planReference(own, cand), want, name);
});

t.test('tipsOf: heads, then tags, no peeled lines, no other refs, bounded', async (t) => {
  const refs = m({ HEAD: oid(1), 'refs/tags/v1': oid(2), 'refs/tags/v1^{}': oid(1), 'refs/heads/master': oid(1), 'refs/pull/1/head': oid(9), 'refs/heads/dev': oid(3) });
  t.same(tipsOf(refs), [oid(3), oid(1), oid(2)], 'dev, master, then v1; HEAD and refs/pull left out; duplicates once');
  t.same(tipsOf(m({})), [], 'an empty repository has no tips');
  const many = m(Object.fromEntries(Array.from({ length: MAX_TIPS + 1 }, (_, i) => [`refs/tags/t${String(i).padStart(3, '0')}`, oid(i + 10)])));
  t.equal(tipsOf(many).length, MAX_TIPS, `exactly ${MAX_TIPS} of ${MAX_TIPS + 1}`);
  t.equal(tipsOf(many, MAX_TIPS + 1).length, MAX_TIPS + 1, 'a larger cap takes them all');
  t.same(tipsOf(many), tipsOf(new Map([...many].reverse())), 'the same tips whatever the order advertised');
});

t.test('newTips: only what a fetch would bring', async (t) => {
  const remote = m({ 'refs/heads/master': oid(2), 'refs/tags/v1': oid(1) });
  t.same(newTips(remote, m({ 'refs/heads/master': oid(1), 'refs/tags/v1': oid(1) })), [oid(2)]);
  t.same(newTips(remote, null), [oid(2), oid(1)], 'no mirror: every tip is new');
  t.same(newTips(remote, remote), [], 'nothing new');
});
