import t from 'tap';
import { EMPTY_RECORD, recordAfterPass, statusReport, type PassRecord } from '../../replica/pass-record.js';
import type { PassSummary, RepoDone } from '../../replica/events.js';

const T0 = Date.parse('2026-12-05T01:00:00Z');
const summary = (o: Partial<PassSummary> = {}): PassSummary => ({ kind: 'full', status: 'done', ms: 1500, cloned: 0, updated: 0, purged: 0, deferred: 0, failed: 0, ...o });
const done = (key: string, result: RepoDone['result'], error?: string): RepoDone => ({ key, op: 'update', result, ok: result !== 'failed' && result !== 'deferred', ms: 1, ...(error ? { error } : {}) });

t.test('failing repositories: counted in a row, kept or dropped by what each pass saw', async (t) => {
  const one = recordAfterPass(EMPTY_RECORD, summary({ failed: 2 }), [done('/a.git', 'failed', 'fatal: a'), done('/b.git', 'failed', 'fatal: b'), done('/c.git', 'cloned')], T0, null, 7);
  t.same(one.failing, {
    '/a.git': { error: 'fatal: a', since: '2026-12-05T01:00:00.000Z', last: '2026-12-05T01:00:00.000Z', attempts: 1 },
    '/b.git': { error: 'fatal: b', since: '2026-12-05T01:00:00.000Z', last: '2026-12-05T01:00:00.000Z', attempts: 1 },
  });
  t.equal(one.nextRetry, null, 'one-shot: at the next run');
  t.same(one.lastPass, { ...summary({ failed: 2 }), at: '2026-12-05T01:00:00.000Z', pid: 7 });
  const later = T0 + 60_000;
  // A full pass that got to work: /a.git failed again, /b.git needed no work (fixed at the origin, or gone).
  const two = recordAfterPass(one, summary({ failed: 1 }), [done('/a.git', 'failed', 'fatal: a, again')], later, 300_000, 7);
  t.same(Object.keys(two.failing), ['/a.git']);
  t.same(two.failing['/a.git'], { error: 'fatal: a, again', since: '2026-12-05T01:00:00.000Z', last: '2026-12-05T01:01:00.000Z', attempts: 2 });
  t.equal(two.nextRetry, '2026-12-05T01:06:00.000Z', 'the daemon: its next refresh');
  // A pass that failed as a whole, or found the manifest unchanged: the failures stay as they were.
  t.same(recordAfterPass(one, summary({ status: 'failed', error: 'cannot fetch' }), [], later, null, 8).failing, one.failing);
  t.same(recordAfterPass(one, summary({ status: 'unchanged' }), [], later, null, 8).failing, one.failing);
  // A targeted pass changes only what it worked on; deferred (locked elsewhere) keeps its state.
  const targeted = recordAfterPass(one, summary({ kind: 'targeted' }), [done('/a.git', 'updated'), done('/b.git', 'deferred')], later, null, 8);
  t.same(Object.keys(targeted.failing), ['/b.git']);
  t.same(targeted.failing['/b.git'], one.failing['/b.git']);
  const deferredFull = recordAfterPass(one, summary(), [done('/b.git', 'deferred')], later, null, 8);
  t.same(Object.keys(deferredFull.failing), ['/b.git'], 'a full pass keeps a deferred failing repository');
});

t.test('--status lines and exit status', async (t) => {
  const none = statusReport('/m', null, T0, null);
  t.same(none, { lines: ['toplevel /m', 'no pass recorded yet'], code: 3 });
  const well: PassRecord = { lastPass: { ...summary({ cloned: 3 }), at: '2026-12-05T01:00:00.000Z', pid: 9 }, failing: {}, nextRetry: null };
  t.same(statusReport('/m', well, T0 + 90_000, 42), {
    lines: ['toplevel /m; grok-pull -o running, pid 42', 'last pass: 2026-12-05T01:00:00.000Z (90s ago, full, 1.5s, pid 9): 3 cloned, 0 updated, 0 fixed, 0 purged, 0 deferred, 0 failed', 'no repository failing'],
    code: 0,
  });
  const failing: PassRecord = { ...well, failing: { '/z.git': { error: 'fatal: could not read\n  from remote', since: 's', last: 'l', attempts: 1 }, '/a.git': { error: 'x'.repeat(400), since: 's', last: 'l', attempts: 3 } }, nextRetry: '2026-12-05T01:05:00.000Z' };
  const r = statusReport('/m', failing, T0 + 3 * 3600_000, null);
  t.equal(r.code, 1);
  t.same(r.lines.slice(1), [
    'last pass: 2026-12-05T01:00:00.000Z (3h ago, full, 1.5s, pid 9): 3 cloned, 0 updated, 0 fixed, 0 purged, 0 deferred, 0 failed',
    '2 repositories failing (next retry by 2026-12-05T01:05:00.000Z):',
    `/a.git: ${'x'.repeat(299)}… (since s, 3 passes in a row)`,
    '/z.git: fatal: could not read from remote (since s, 1 pass)',
  ]);
  const passFailed: PassRecord = { ...well, lastPass: { ...well.lastPass!, status: 'failed', error: 'cannot fetch the manifest' } };
  const f = statusReport('/m', passFailed, T0, null);
  t.equal(f.code, 1, 'the last pass failed as a whole');
  t.match(f.lines[1], /: failed: cannot fetch the manifest$/);
  t.equal(statusReport('/m', { ...well, lastPass: { ...well.lastPass!, status: 'unchanged' } }, T0, null).code, 0);
});
