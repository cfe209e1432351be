/**
 * The pass record's keeper: the failing set it answers while a pass runs and after, a record file
 * another process (a one-shot grok-pull) replaced between passes, and a record the disk would not take.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import type { PassSummary, RepoDone } from '../../replica/events.js';
import { EMPTY_RECORD, PASS_RECORD } from '../../replica/pass-record.js';
import { fileRecordStore, memoryRecordStore, passRecorder, readPassRecord, type RecordStore } from '../../replica/pass-recorder.js';
import { silentLogger } from '../../shared/log.js';
import { tmpDir } from '../helpers/tmp.js';

const T0 = Date.parse('2026-12-05T01:00:00Z');
const summary = (o: Partial<PassSummary> = {}): PassSummary => ({ kind: 'full', status: 'done', ms: 10, cloned: 0, updated: 0, purged: 0, deferred: 0, failed: 0, ...o });
const failed = (key: string): RepoDone => ({ key, op: 'update', result: 'failed', ok: false, error: `fatal: ${key}`, ms: 1 });

t.test('while a pass runs, its results so far count; at its end, the record written', async (t) => {
  let now = T0;
  const store = memoryRecordStore();
  const rec = passRecorder(store, { now: () => now, log: silentLogger(), nextRetryAt: () => T0 + 900_000 });
  t.same(rec.failingNow(), {}, 'nothing recorded yet');
  rec.onPassStart({ kind: 'full' });
  now += 1000;
  rec.onRepoDone(failed('/a.git'));
  t.same(Object.keys(rec.failingNow()), ['/a.git'], 'a failure shows as soon as it happens');
  t.equal(store.load(), null, 'and is written at the pass end');
  now += 1000;
  rec.onPassDone(summary({ failed: 1 }));
  t.match(store.load()?.failing['/a.git'], { since: new Date(T0 + 1000).toISOString(), last: new Date(T0 + 1000).toISOString(), attempts: 1 });
  t.equal(store.load()?.nextRetry, new Date(T0 + 900_000).toISOString());
  t.same(rec.failingNow(), store.load()?.failing);
  rec.onPassStart({ kind: 'full' });
  rec.onPassDone(summary());
  t.same(rec.failingNow(), {}, 'a full pass that did not touch it dropped it');
});

t.test('the file: replaced by another process between passes, read again; one that cannot be written stands in memory', async (t) => {
  const top = tmpDir(t);
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l).msg) });
  const rec = passRecorder(fileRecordStore(top), { now: () => T0, log, nextRetryAt: () => null });
  rec.onPassStart({ kind: 'targeted' });
  rec.onRepoDone(failed('/a.git'));
  rec.onPassDone(summary({ kind: 'targeted', failed: 1 }));
  t.same(Object.keys(readPassRecord(top)?.failing ?? {}), ['/a.git']);
  // A one-shot grok-pull fixes /a.git and fails /b.git.
  const other = passRecorder(fileRecordStore(top), { now: () => T0 + 5000, log: silentLogger(), nextRetryAt: () => null });
  other.onPassStart({ kind: 'full' });
  other.onRepoDone({ key: '/a.git', op: 'update', result: 'updated', ok: true, ms: 1 });
  other.onRepoDone(failed('/b.git'));
  other.onPassDone(summary({ updated: 1, failed: 1 }));
  t.same(Object.keys(rec.failingNow()), ['/b.git'], 'the daemon sees what the one-shot recorded');

  writeFileSync(path.join(top, PASS_RECORD), '{"cut sh');
  t.same(rec.failingNow(), {});
  t.same(rec.failingNow(), {});
  t.equal(lines.filter((l) => l.includes('unreadable')).length, 1, 'said once, not at every request');

  const full: RecordStore = { name: 'full', load: () => EMPTY_RECORD, save: () => { throw new Error('ENOSPC: no space left on device'); } };
  const stuck = passRecorder(full, { now: () => T0, log, nextRetryAt: () => null });
  stuck.onPassStart({ kind: 'full' });
  stuck.onRepoDone(failed('/c.git'));
  stuck.onPassDone(summary({ failed: 1 }));
  t.same(Object.keys(stuck.failingNow()), ['/c.git'], 'the record the disk did not take is still what the page shows');
  t.match(lines.at(-1), /cannot record the pass for grok-pull --status: .*ENOSPC/);
  stuck.onPassStart({ kind: 'targeted' });
  stuck.onRepoDone(failed('/c.git'));
  stuck.onPassDone(summary({ kind: 'targeted', failed: 1 }));
  t.equal(stuck.failingNow()['/c.git']?.attempts, 2, 'and the next pass goes on from it');
});
