/**
 * Keeps the pass record (pass-record.ts) as passes end, and answers "which repositories are failing
 * now" for the daemon's status tracker: the record as stored (re-read only when the file changed:
 * a one-shot pass run by hand between the daemon's passes replaces it), with the running pass's
 * results so far applied by the same rules the record's next write uses.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describeError } from '../shared/errors.js';
import { atomicWriteSmallSync } from '../shared/fs/atomic.js';
import type { Logger } from '../shared/log.js';
import type { PullEvents } from './events.js';
import { EMPTY_RECORD, failingWith, PASS_RECORD, parsePassRecord, recordAfterPass, type FailingSet, type PassRecord, type TimedResult } from './pass-record.js';

/** The toplevel's record (grok-pull --status), null when none was written yet. */
export function readPassRecord(toplevel: string): PassRecord | null {
  let text: string;
  try {
    text = readFileSync(path.join(toplevel, PASS_RECORD), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return parsePassRecord(text);
}

/** Where a record is kept: the toplevel's file, or memory (a status tracker on its own, in tests). */
export interface RecordStore {
  /** For messages. */
  readonly name: string;
  /** The record, null when none was written yet; throws when it cannot be read. */
  load(): PassRecord | null;
  save(record: PassRecord): void;
}

export function fileRecordStore(toplevel: string): RecordStore {
  const file = path.join(toplevel, PASS_RECORD);
  // Every write replaces the file (a new inode): its identity says whether the copy in hand is current.
  let cached: { id: string; record: PassRecord | null } | null = null;
  const identity = (): string | null => {
    try {
      const st = statSync(file);
      return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  };
  return {
    name: file,
    load() {
      const id = identity();
      if (id === null) return null;
      if (cached?.id !== id) cached = { id, record: readPassRecord(toplevel) };
      return cached.record;
    },
    save(record) {
      atomicWriteSmallSync(file, `${JSON.stringify(record, null, 1)}\n`);
      cached = null;
    },
  };
}

export function memoryRecordStore(): RecordStore {
  let record: PassRecord | null = null;
  return { name: 'the pass record', load: () => record, save: (r) => void (record = r) };
}

export interface PassRecorder extends Required<PullEvents> {
  /** The failing repositories now: the record's, with the running pass's results so far applied. */
  failingNow(): FailingSet;
}

/** The observer that keeps the record; `nextRetryAt`: when the daemon's next full pass is due (epoch ms), null for a one-shot. */
export function passRecorder(store: RecordStore, deps: { readonly now: () => number; readonly log: Logger; readonly nextRetryAt: () => number | null }): PassRecorder {
  let results: TimedResult[] = [];
  // A record the store would not take (a full disk): newer than the stored one, so it stands in for it.
  let unsaved: PassRecord | null = null;
  let warned: string | null = null;
  const current = (): PassRecord => {
    if (unsaved) return unsaved;
    try {
      const r = store.load() ?? EMPTY_RECORD;
      warned = null;
      return r;
    } catch (err) {
      // An unreadable record (cut short by a full disk, edited by hand) is started again; said once,
      // since the status page asks at every request.
      const why = describeError(err);
      if (warned !== why) deps.log.warn(`${store.name} unreadable (${why}); starting it again`);
      warned = why;
      return EMPTY_RECORD;
    }
  };
  return {
    onPassStart: () => void (results = []),
    onManifestChecked: () => {},
    onPlan: () => {},
    onRepoDone: (r) => void results.push({ ...r, at: deps.now() }),
    onPassDone: (pass) => {
      const next = recordAfterPass(current(), pass, results, deps.now(), deps.nextRetryAt(), process.pid);
      results = [];
      try {
        store.save(next);
        unsaved = null;
      } catch (err) {
        unsaved = next;
        deps.log.warn(`cannot record the pass for grok-pull --status: ${describeError(err)}`);
      }
    },
    failingNow: () => (results.length === 0 ? current().failing : failingWith(current().failing, results, deps.now())),
  };
}
