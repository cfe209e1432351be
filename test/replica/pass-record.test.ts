import t from 'tap';
import { EMPTY_RECORD, failingWith, parsePassRecord, recordAfterPass, statusReport, type PassRecord, type TimedResult } from '../../replica/pass-record.js';
import type { PassSummary, RepoDone } from '../../replica/events.js';

const T0 = Date.parse('2026-12-05T01:00:00Z');
const summary = (o: Partial<PassSummary> = {}): PassSummary => ({ kind: 'full', status: 'done', ms: 1500, cloned: 0, updated: 0, purged: 0, deferred: 0, failed: 0, ...o });
const done = (key: string, result: RepoDone['result'], error?: string): RepoDone => ({ key, op: 'update', result, ok: result !== 'failed' && result !== 'deferred', ms: 1, ...(error ? { error } : {}) });

const iso = (ms: number) => new Date(ms).toISOString();
const T1 = T0 + 60_000;
const failingA: PassRecord = { lastPass: null, failing: { '/a.git': { error: 'fatal: a', op: 'update', since: iso(T0), last: iso(T0), attempts: 1 } }, nextRetry: null };

t.test('the failing set after a pass: a row at each boundary', async (t) => {
  const rows: { name: string; prev: PassRecord; pass: PassSummary; results: TimedResult[]; want: PassRecord['failing'] }[] = [
    { name: 'first failure', prev: EMPTY_RECORD, pass: summary({ failed: 1 }), results: [done('/a.git', 'failed', 'fatal: a')], want: { '/a.git': { error: 'fatal: a', op: 'update', since: iso(T1), last: iso(T1), attempts: 1 } } },
    { name: 'first failure: the time is when the repository failed, not when the pass ended', prev: EMPTY_RECORD, pass: summary({ failed: 1 }), results: [{ ...done('/a.git', 'failed', 'fatal: a'), op: 'init', at: T1 - 5000 }], want: { '/a.git': { error: 'fatal: a', op: 'init', since: iso(T1 - 5000), last: iso(T1 - 5000), attempts: 1 } } },
    { name: 'repeated failure: first failure kept, latest error and time, one more in a row', prev: failingA, pass: summary({ failed: 1 }), results: [done('/a.git', 'failed', 'fatal: a, again')], want: { '/a.git': { error: 'fatal: a, again', op: 'update', since: iso(T0), last: iso(T1), attempts: 2 } } },
    { name: 'repeated failure in a targeted pass', prev: failingA, pass: summary({ kind: 'targeted', failed: 1 }), results: [done('/a.git', 'failed', 'fatal: a')], want: { '/a.git': { error: 'fatal: a', op: 'update', since: iso(T0), last: iso(T1), attempts: 2 } } },
    { name: 'recovery: updated', prev: failingA, pass: summary({ updated: 1 }), results: [done('/a.git', 'updated')], want: {} },
    { name: 'recovery: only its settings needed putting right', prev: failingA, pass: summary({ kind: 'targeted', fixed: 1 }), results: [done('/a.git', 'fixed')], want: {} },
    { name: 'recovery: recloned', prev: failingA, pass: summary({ kind: 'targeted', cloned: 1 }), results: [{ ...done('/a.git', 'cloned'), op: 'reclone' }], want: {} },
    { name: 'left the manifest (or fixed elsewhere): a full pass that got to work did not touch it', prev: failingA, pass: summary({ updated: 1 }), results: [done('/b.git', 'updated')], want: {} },
    { name: 'a full pass with nothing to do at all', prev: failingA, pass: summary(), results: [], want: {} },
    { name: 'a targeted pass not touching the failing repository', prev: failingA, pass: summary({ kind: 'targeted', updated: 1 }), results: [done('/b.git', 'updated')], want: failingA.failing },
    { name: 'a targeted pass with nothing to do', prev: failingA, pass: summary({ kind: 'targeted' }), results: [], want: failingA.failing },
    { name: 'a targeted pass adds a failure beside one it did not touch', prev: failingA, pass: summary({ kind: 'targeted', failed: 1 }), results: [done('/b.git', 'failed', 'fatal: b')], want: { ...failingA.failing, '/b.git': { error: 'fatal: b', op: 'update', since: iso(T1), last: iso(T1), attempts: 1 } } },
    { name: 'an unchanged manifest', prev: failingA, pass: summary({ status: 'unchanged' }), results: [], want: failingA.failing },
    { name: 'a pass that failed as a whole (manifest unreadable)', prev: failingA, pass: summary({ status: 'failed', error: 'cannot fetch' }), results: [], want: failingA.failing },
    { name: 'a targeted pass that failed after some repositories: what they did counts', prev: failingA, pass: summary({ kind: 'targeted', status: 'failed', error: 'EACCES' }), results: [done('/a.git', 'updated')], want: {} },
    { name: 'locked elsewhere (deferred) in a full pass: a failing repository stays as it was', prev: failingA, pass: summary({ deferred: 1 }), results: [done('/a.git', 'deferred')], want: failingA.failing },
    { name: 'locked elsewhere (deferred): one not failing does not start to', prev: EMPTY_RECORD, pass: summary({ kind: 'targeted', deferred: 1 }), results: [done('/a.git', 'deferred')], want: {} },
    { name: 'an error is stored as served: credentials redacted, control characters escaped', prev: EMPTY_RECORD, pass: summary({ failed: 1 }), results: [done('/a.git', 'failed', "fatal: unable to access 'https://me:s3cret@example.org/a.git/':\x1b[31m 403")], want: { '/a.git': { error: "fatal: unable to access 'https://***@example.org/a.git/':\\x1b[31m 403", op: 'update', since: iso(T1), last: iso(T1), attempts: 1 } } },
    { name: 'an error of 2000 characters is kept whole', prev: EMPTY_RECORD, pass: summary({ failed: 1 }), results: [done('/a.git', 'failed', 'x'.repeat(2000))], want: { '/a.git': { error: 'x'.repeat(2000), op: 'update', since: iso(T1), last: iso(T1), attempts: 1 } } },
    { name: 'an error of 2001 characters is clipped', prev: EMPTY_RECORD, pass: summary({ failed: 1 }), results: [done('/a.git', 'failed', 'x'.repeat(2001))], want: { '/a.git': { error: `${'x'.repeat(2000)}… (2001 characters)`, op: 'update', since: iso(T1), last: iso(T1), attempts: 1 } } },
  ];
  for (const r of rows) {
    const next = recordAfterPass(r.prev, r.pass, r.results, T1, null, 7);
    t.same(next.failing, r.want, r.name);
    // While a pass runs the status page shows the same rules applied to the results so far; only the
    // end of a full pass that got to work drops what it did not touch.
    if (!(r.pass.kind === 'full' && r.pass.status === 'done')) t.same(failingWith(r.prev.failing, r.results, T1), r.want, `${r.name}: while the pass runs`);
  }
  t.same(failingA.failing['/a.git']?.attempts, 1, 'the previous record is left as it was');
});

t.test('the record of a pass: when, by whom, the next retry', async (t) => {
  const one = recordAfterPass(EMPTY_RECORD, summary({ failed: 1, held: 4 }), [done('/a.git', 'failed', 'fatal: a')], T0, null, 7);
  t.equal(one.nextRetry, null, 'one-shot: at the next run');
  t.same(one.lastPass, { ...summary({ failed: 1 }), at: '2026-12-05T01:00:00.000Z', pid: 7 }, 'held is not recorded');
  t.equal(recordAfterPass(one, summary(), [], T0 + 60_000, T0 + 300_000, 7).nextRetry, '2026-12-05T01:05:00.000Z', 'the daemon: its next full pass');
});

t.test('a record read from disk: a failing entry a hand edit broke is dropped, the rest kept', async (t) => {
  const good = { error: 'fatal: a', since: iso(T0), last: iso(T0), attempts: 2 };
  const r = parsePassRecord(JSON.stringify({ lastPass: null, failing: { '/a.git': good, '/b.git': { error: 'x', since: 'yesterday', last: iso(T0), attempts: 1 }, '/c.git': { error: 'x', since: iso(T0), last: iso(T0) }, '/d.git': null, '/e.git': 'broken' }, nextRetry: null }));
  t.same(r.failing, { '/a.git': good }, 'a record written before op was kept is read as it is');
  t.same(parsePassRecord('{"lastPass":null,"failing":[1],"nextRetry":null}').failing, {});
  t.same(parsePassRecord('{}'), EMPTY_RECORD);
  t.throws(() => parsePassRecord('[]'), /not a JSON object/);
  t.throws(() => parsePassRecord('null'), /not a JSON object/);
  t.throws(() => parsePassRecord('{"cut sh'));
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

t.test('--status at the edges: how long ago, how long a line, which record counts as none', async (t) => {
  const at = '2026-12-05T01:00:00.000Z';
  const base = Date.parse(at);
  const rec = (over: Partial<PassRecord> = {}): PassRecord => ({ lastPass: { ...summary(), at, pid: 9 }, failing: {}, nextRetry: null, ...over });
  const agoOf = (sec: number) => /\((\S+ ago),/.exec(statusReport('/m', rec(), base + sec * 1000, null).lines[1]!)?.[1];
  for (const [sec, want] of [[0, '0s ago'], [119, '119s ago'], [120, '2m ago'], [7199, '120m ago'], [7200, '2h ago'], [172_799, '48h ago'], [172_800, '2d ago'], [-5, '0s ago']] as const) {
    t.equal(agoOf(sec), want, `${sec} s after the pass`);
  }
  const failingWithError = (error: string) => statusReport('/m', rec({ failing: { '/a.git': { error, since: 's', last: 'l', attempts: 1 } } }), base, null).lines[3];
  t.equal(failingWithError('y'.repeat(300)), `/a.git: ${'y'.repeat(300)} (since s, 1 pass)`, 'an error of exactly 300 characters is whole');
  t.equal(failingWithError('y'.repeat(301)), `/a.git: ${'y'.repeat(299)}… (since s, 1 pass)`, 'one of 301 is cut');
  t.equal(failingWithError('\n  fatal: x \t\n'), '/a.git: fatal: x (since s, 1 pass)', 'whitespace folded and trimmed');
  const three = statusReport('/m', rec({ failing: Object.fromEntries(['/m.git', '/z.git', '/a.git'].map((k) => [k, { error: k, since: 's', last: 'l', attempts: 2 }])) }), base, null);
  t.same(three.lines.slice(3).map((l) => l.split(':')[0]), ['/a.git', '/m.git', '/z.git'], 'failing repositories in key order');
  t.equal(three.lines[2], '3 repositories failing (next retry at the next grok-pull run):');
  t.same(statusReport('/m', rec({ lastPass: null }), base, null), { lines: ['toplevel /m', 'no pass recorded yet'], code: 3 }, 'a record with no pass is none');
  t.match(statusReport('/m', rec({ lastPass: { ...summary(), status: 'unchanged', at, pid: 9 } }), base, null).lines[1], /: remote manifest unchanged$/);
  t.match(statusReport('/m', rec({ lastPass: { ...summary(), status: 'failed', at, pid: 9 } }), base, null).lines[1], /: failed: unknown error$/);
});

t.test('a record read from disk: a whole one round-trips; each field of a failing entry is checked', async (t) => {
  const full: PassRecord = { lastPass: { ...summary({ cloned: 2 }), at: iso(T0), pid: 7 }, failing: { '/a.git': { error: 'e', op: 'update', since: iso(T0), last: iso(T0), attempts: 1 } as PassRecord['failing'][string] }, nextRetry: iso(T0 + 60_000) };
  t.same(parsePassRecord(JSON.stringify(full)), full);
  const ok = { error: 'e', since: iso(T0), last: iso(T0), attempts: 1 };
  for (const [what, broken] of [
    ['error not a string', { ...ok, error: 1 }],
    ['since missing', { ...ok, since: undefined }],
    ['last not a date', { ...ok, last: 'soon' }],
    ['attempts not whole', { ...ok, attempts: 1.5 }],
    ['attempts missing', { ...ok, attempts: undefined }],
  ] as const) {
    t.same(parsePassRecord(JSON.stringify({ lastPass: null, failing: { '/b.git': broken, '/a.git': ok }, nextRetry: null })).failing, { '/a.git': ok }, `dropped: ${what}`);
  }
  t.same(parsePassRecord('{"failing":null}').failing, {}, 'failing null');
  t.throws(() => parsePassRecord('1'), /not a JSON object/, 'a number');
  t.throws(() => parsePassRecord('"text"'), /not a JSON object/, 'a string');
});
