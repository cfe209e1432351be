/**
 * grok-origin's side of the manifest journal (shared/manifest/journal.ts has the format and the
 * recovery): a batch's record is appended and fsynced while its manifest is written, the manifest
 * is renamed into place unsynced, and the notices are answered; here, in the background, the newest
 * written file is fsynced, becomes the durable copy, and the journal drops what that file holds.
 * Writes that land while one is being synced wait for the next round, and only the newest of them
 * is synced (it holds the others' changes).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describeError } from '../../shared/errors.js';
import { syncDir, tempNameFor } from '../../shared/fs/atomic.js';
import type { DeferredStep, DeferredWrite, FileId } from '../../shared/fs/atomic-deferred.js';
import type { Logger } from '../../shared/log.js';
import type { ManifestEntry } from '../../shared/manifest/entry.js';
import { durablePathFor, encodeRecord, journalPathFor, makeDurableCopy, rebaseJournal } from '../../shared/manifest/journal.js';

/** The steps of a notice's write and of its background sync, in order. */
export type JournalStep = DeferredStep | 'append' | 'sync' | 'durable' | 'sync-dir' | 'truncate';

export interface JournalDeps {
  readonly log: Logger;
  /** Called before each step (tests hold one there to see what a kill there leaves). */
  readonly beforeStep?: (step: JournalStep) => Promise<void>;
}

/** A journal holding more than this while writes keep coming is rewritten without what is durable. */
const REWRITE_BYTES = 4 * 1024 * 1024;

export class NoticeJournal {
  private seq = 0;
  /** Records in the journal that no durable file holds yet. */
  private held: { seq: number; bytes: number }[] = [];
  private size = 0;
  private mutex: Promise<unknown> = Promise.resolve();
  private queued: { seq: number; write: DeferredWrite } | null = null;
  private syncing: Promise<void> | null = null;
  /** Bumped by rebase: a background round begun before it must not move the durable copy back. */
  private epoch = 0;

  private constructor(
    private readonly file: string,
    private fh: fsp.FileHandle,
    private readonly deps: JournalDeps,
  ) {}

  /** For a caller holding the manifest lock, after recovery: the file now at the path is the durable copy. */
  static async open(file: string, deps: JournalDeps): Promise<NoticeJournal> {
    await rebaseJournal(file);
    const mode = (await fsp.stat(file).catch(() => null))?.mode ?? 0o644;
    const fh = await fsp.open(journalPathFor(file), 'a', mode & 0o666);
    // The manifest's own mode, whatever the umask: the journal holds what the manifest holds.
    await fh.chmod(mode & 0o666);
    return new NoticeJournal(file, fh, deps);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.mutex.then(fn);
    this.mutex = run.catch(() => {});
    return run;
  }

  /** Appends and fsyncs one batch's record; resolves with its sequence number. */
  append(changes: ReadonlyMap<string, ManifestEntry | null>, file: FileId): Promise<number> {
    return this.exclusive(async () => {
      const seq = ++this.seq;
      const bytes = encodeRecord({ seq, file, changes: [...changes] });
      await this.deps.beforeStep?.('append');
      await this.fh.write(bytes);
      await this.fh.datasync();
      this.held.push({ seq, bytes: bytes.length });
      this.size += bytes.length;
      return seq;
    });
  }

  /** The write carrying record `seq` is renamed into place: sync it in the background. */
  written(seq: number, write: DeferredWrite): void {
    const older = this.queued;
    this.queued = { seq, write };
    if (older) void older.write.drop().catch(() => {});
    this.syncing ??= this.drain().finally(() => (this.syncing = null));
  }

  private async drain(): Promise<void> {
    for (let q = this.queued; q; q = this.queued) {
      this.queued = null;
      const epoch = this.epoch;
      await this.makeDurable(q.seq, q.write, epoch).catch(async (err: unknown) => {
        this.deps.log.error(`cannot make ${this.file} durable: ${describeError(err)}; the journal keeps its changes`);
        await fsp.rm(q.write.keep, { force: true }).catch(() => {});
      });
    }
  }

  private async makeDurable(seq: number, write: DeferredWrite, epoch: number): Promise<void> {
    const step = this.deps.beforeStep;
    await step?.('sync');
    await write.sync();
    // The durable copy it replaces is freed after the rename, outside the mutex (43 MB at 1M entries).
    const old = tempNameFor(this.file);
    const kept = await fsp.link(durablePathFor(this.file), old).then(() => true, () => false);
    const moved = await this.exclusive(async () => {
      if (epoch !== this.epoch) return false;
      await step?.('durable');
      await makeDurableCopy(write.keep, this.file);
      return true;
    });
    if (kept) await fsp.rm(old, { force: true });
    if (!moved) return fsp.rm(write.keep, { force: true });
    await step?.('sync-dir');
    await syncDir(path.dirname(this.file));
    await this.exclusive(async () => {
      if (epoch !== this.epoch) return;
      await step?.('truncate');
      await this.dropThrough(seq);
    });
  }

  /**
   * Forgets records up to `seq`, now held by the durable copy. Replaying a record onto a file that
   * holds it is harmless, so the journal is emptied when nothing newer is in it, and rewritten only
   * when it has grown large under writes that never pause.
   */
  private async dropThrough(seq: number): Promise<void> {
    this.held = this.held.filter((r) => r.seq > seq);
    if (this.held.length === 0) {
      await this.fh.truncate(0);
      await this.fh.datasync();
      this.size = 0;
      return;
    }
    if (this.size < REWRITE_BYTES) return;
    const all = await fsp.readFile(journalPathFor(this.file));
    const keepBytes = this.held.reduce((n, r) => n + r.bytes, 0);
    const tmp = tempNameFor(journalPathFor(this.file));
    const st = await this.fh.stat();
    const fh = await fsp.open(tmp, 'wx', st.mode & 0o666);
    try {
      await fh.chmod(st.mode & 0o666);
      await fh.write(all.subarray(all.length - keepBytes));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, journalPathFor(this.file));
    await syncDir(path.dirname(this.file));
    await this.fh.close();
    this.fh = await fsp.open(journalPathFor(this.file), 'a');
    this.size = keepBytes;
  }

  /**
   * For a caller holding the manifest lock, after a write that is durable by itself (the file holds
   * another writer's changes, which no record does): that file becomes the durable copy and the
   * journal is emptied; syncs of older writes still waiting are dropped.
   */
  rebase(): Promise<void> {
    return this.exclusive(async () => {
      this.epoch++;
      const q = this.queued;
      this.queued = null;
      if (q) await q.write.drop().catch(() => {});
      await rebaseJournal(this.file);
      this.held = [];
      this.size = 0;
    });
  }

  /** Waits until every written file is durable and the journal has dropped what they hold. */
  async idle(): Promise<void> {
    while (this.syncing) await this.syncing;
    await this.mutex;
  }

  async close(): Promise<void> {
    await this.idle();
    await this.fh.close();
  }
}
