/**
 * The manifest as grok-origin owns it: entries in memory (chunked-manifest.ts), changes applied at
 * once and written to disk in coalesced, atomic writes under the manifest lock (so stand-alone
 * grok-manifest runs and the server never interleave), change events published after each write,
 * and external writes (a cron grok-manifest walk, grok-fsck) reloaded and published as changes.
 * Writing and reloading take turns, and each write first takes in whatever another process wrote
 * since: the file watcher reports such a write only later, and our copy in memory does not have it.
 * A write is durable through the journal (manifest-journal.ts) before its notices are answered; the
 * 43 MB file's own fsync follows in the background. A write that holds what no record says (another
 * writer's file taken in, entries dropped by the check) is fsynced at once and starts the journal afresh.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { describeError } from '../../shared/errors.js';
import { atomicWrite, type Release } from '../../shared/fs/atomic.js';
import { atomicWriteDeferred, type DeferredWrite, type FileId } from '../../shared/fs/atomic-deferred.js';
import { lockPathFor, withLock } from '../../shared/lock.js';
import type { Logger } from '../../shared/log.js';
import { sameEntry, type ManifestEntry } from '../../shared/manifest/entry.js';
import { isGzipName, readManifestFile, type Rejected } from '../../shared/manifest/io.js';
import { readSliced } from '../../shared/manifest/sliced.js';
import { removeKilledManifestWrites } from '../../shared/manifest/killed-writes.js';
import { recoverJournal } from '../../shared/manifest/journal.js';

import { ChunkedManifest, type Rendered } from './chunked-manifest.js';
import { streamSlices } from './slice-stream.js';
import type { EventLog } from './event-log.js';
import { NoticeJournal, type JournalStep } from './manifest-journal.js';

export interface Change {
  readonly key: string;
  readonly entry: ManifestEntry | null;
}

export interface StoreOptions {
  readonly file: string;
  readonly pretty: boolean;
  readonly writeDelayMs: number;
  readonly maxBytes: number;
}

export interface StoreDeps {
  readonly log: Logger;
  readonly now: () => number;
  /** Called before each step of a write (tests hold one there to see what a kill there leaves). */
  readonly beforeStep?: (step: JournalStep) => Promise<void>;
}

export interface Published {
  /** The gzip body is `rendered.members` joined: sent and written as they are, never joined in memory (45 MB at 1M entries). */
  readonly rendered: Rendered;
  /** Last-Modified, whole seconds (HTTP dates have no finer resolution). */
  readonly lastModifiedSec: number;
  readonly generation: number;
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

export class ManifestStore {
  private published: Published;
  private unwritten = new Map<string, ManifestEntry | null>();
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private servedSec = 0;
  private ownWrite: { ino: number; mtimeMs: number; size: number } | null = null;
  /** The write or reload under way; the next one starts after it. */
  private turn: Promise<unknown> = Promise.resolve();
  private jsonCache: { generation: number; body: Buffer } | null = null;
  /** Freeing the file the last write replaced. */
  private releasing: Promise<void> = Promise.resolve();
  /** The memory holds changes no journal record has (entries the check dropped): the next write syncs in full. */
  private unjournaled = false;
  lastWriteMs = 0;
  writeCount = 0;
  /** A deferred open(): no entries in memory until build() has read the file. */
  private unbuilt = false;
  private buildRun: Promise<void> | null = null;
  private readonly built = deferred();

  private constructor(
    private manifest: ChunkedManifest,
    private readonly opts: StoreOptions,
    private readonly events: EventLog,
    private readonly deps: StoreDeps,
    private readonly journal: NoticeJournal,
  ) {
    const rendered = manifest.render();
    this.published = { rendered, lastModifiedSec: Math.floor(deps.now() / 1000), generation: 0 };
  }

  /**
   * With `defer`, a compact gzip manifest file not in the sliced form (grokmirror's: one gzip member)
   * is not read here: build() makes its slices later, and the file is served as it
   * is meanwhile (it is a complete manifest), so that the server can listen first.
   */
  static async open(opts: StoreOptions, events: EventLog, deps: StoreDeps, defer = false): Promise<ManifestStore> {
    // A server or grok-manifest killed in the middle of a write left its temp file beside the manifest.
    for (const n of await removeKilledManifestWrites(opts.file)) deps.log.warn(`removed ${n}, left by a manifest write that was cut short`);
    // Changes acknowledged by a server that died before its manifest was durable are in the journal.
    const journal = await withLock(lockPathFor(opts.file), async () => {
      const recovered = await recoverJournal(opts.file, { pretty: opts.pretty, maxBytes: opts.maxBytes, warn: (m) => deps.log.warn(m) });
      if (recovered === 'replayed') deps.log.warn(`${opts.file}: changes acknowledged before a crash replayed from its journal`);
      return NoticeJournal.open(opts.file, deps);
    });
    const onRejected = rejectedReporter(opts.file, deps.log);
    const sliced = await readSliced(opts);
    if (!sliced && defer && !opts.pretty && isGzipName(opts.file)) {
      const store = new ManifestStore(ChunkedManifest.fromMembers([null], [0], false, onRejected, opts.maxBytes), opts, events, deps, journal);
      store.unbuilt = true;
      await store.publishFile(0);
      return store;
    }
    const manifest = sliced ? ChunkedManifest.adopt(sliced.raw, sliced.layout, opts.pretty, onRejected, opts.maxBytes) : await loadManifest(opts, onRejected);
    const store = new ManifestStore(manifest, opts, events, deps, journal);
    await store.publishFile(0, sliced?.raw);
    return store;
  }

  /** True while the manifest of a deferred open() is not built yet (the file is served as it is). */
  get building(): boolean {
    return this.unbuilt;
  }

  /**
   * Builds the manifest a deferred open() left unbuilt (after `gate`, a test's hook), then lets the
   * notices that waited for it through. Rejects, with the error a whole-file read of the file gives,
   * when the file is bad: the server must then stop, as it would have before listening.
   */
  build(gate: () => Promise<void> = () => Promise.resolve()): Promise<void> {
    if (this.unbuilt && !this.buildRun) {
      this.buildRun = gate()
        .then(() => loadManifest(this.opts, rejectedReporter(this.opts.file, this.deps.log)))
        .then((m) => {
          this.manifest = m;
          this.unbuilt = false;
          // Entries the build refused are in the file, not in memory, and no journal record says so.
          this.unjournaled = true;
        });
      this.buildRun.then(this.built.resolve, this.built.reject);
    }
    return this.whenBuilt();
  }

  /** Resolves once the manifest is in memory (at once unless a deferred build is under way); rejects when that build failed. */
  whenBuilt(): Promise<void> {
    return this.unbuilt ? this.built.promise : Promise.resolve();
  }

  /** An entry, once the manifest is built (git requests that arrive during a deferred build wait for it). */
  async lookup(key: string): Promise<ManifestEntry | undefined> {
    await this.whenBuilt();
    return this.get(key);
  }

  /**
   * A start-up from a file in the sliced form took its slices unread: check every entry now, in the
   * background (the server serves the file as it is meanwhile); a slice with entries that fail is
   * written again without them. Resolves with the number dropped.
   */
  async checkEntries(stopped: () => boolean): Promise<number> {
    const dropped = await this.manifest.checkAll(() => new Promise((r) => setImmediate(() => r(!stopped()))));
    if (dropped > 0) (this.unjournaled = true), this.schedule();
    return dropped;
  }

  /**
   * Until the server writes the manifest itself, it serves the file's own bytes, so that replicas
   * reading it over HTTP and over file:// see the same thing (and the same validators).
   */
  private async publishFile(generation: number, read?: Buffer): Promise<void> {
    const st = await stat(this.opts.file).catch(() => null);
    if (!st) return;
    this.ownWrite = { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size };
    const lastModifiedSec = Math.max(Math.floor(st.mtimeMs / 1000), generation > 0 ? this.servedSec + 1 : 0);
    if (!isGzipName(this.opts.file)) {
      const rendered = this.manifest.render();
      this.published = { rendered, lastModifiedSec, generation };
      return;
    }
    const raw = read ?? (await readFile(this.opts.file));
    const etag = `"${createHash('sha1').update(raw).digest('hex')}"`;
    this.published = { rendered: { members: [raw], size: raw.length, etag }, lastModifiedSec, generation };
  }

  get size(): number {
    return this.manifest.size;
  }

  get(key: string): ManifestEntry | undefined {
    if (this.unbuilt) throw new Error('the manifest is not built yet: wait for whenBuilt()');
    return this.manifest.get(key);
  }

  current(): Published {
    return this.published;
  }

  /** The plain JSON body of the current generation, built on first request. */
  json(): Buffer {
    if (this.unbuilt) throw new Error('the manifest is not built yet: wait for whenBuilt()');
    const gen = this.published.generation;
    if (this.jsonCache?.generation !== gen) this.jsonCache = { generation: gen, body: this.manifest.json() };
    return this.jsonCache.body;
  }

  /** A 200 carried this Last-Modified: the next generation must carry a later one. */
  markServed(sec: number): void {
    if (sec > this.servedSec) this.servedSec = sec;
  }

  get pendingChanges(): number {
    return this.unwritten.size;
  }

  /** Applies changes now; resolves once a manifest write that includes them is on disk. */
  apply(changes: readonly Change[]): Promise<void> {
    if (this.unbuilt) return Promise.reject(new Error('the manifest is not built yet: wait for whenBuilt()'));
    let any = false;
    for (const c of changes) {
      const old = this.manifest.get(c.key);
      if (c.entry === null ? old === undefined : old !== undefined && sameEntry(old, c.entry)) continue;
      this.manifest.set(c.key, c.entry);
      this.unwritten.set(c.key, c.entry);
      any = true;
    }
    if (!any && this.unwritten.size === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  private schedule(delay = this.opts.writeDelayMs): void {
    if (this.timer || this.writing) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.writing = this.inTurn(() => this.write()).finally(() => {
        this.writing = null;
        if (this.waiters.length > 0) this.schedule();
      });
    }, delay);
  }

  private inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.turn.then(fn);
    this.turn = run.catch(() => {});
    return run;
  }

  private async write(): Promise<void> {
    const waiters = this.waiters;
    this.waiters = [];
    const batch = this.unwritten;
    this.unwritten = new Map();
    // What another process wrote since our last write, taken in under the lock below.
    const external: Change[] = [];
    let release: Release = () => Promise.resolve();
    let deferred: { seq: number; write: DeferredWrite } | null = null;
    try {
      await withLock(lockPathFor(this.opts.file), async () => {
        // Another writer's file (or none, or a damaged one) is not what the journal's records apply to.
        const full = this.unjournaled || !(await this.isOwnWrite());
        this.unjournaled = false;
        // Another process may have rewritten the file since we last wrote or read it: writing our
        // copy as it is would undo that write (the watcher's reload comes too late to help).
        const taken = await this.takeExternal(batch).catch((err: unknown) => {
          this.deps.log.error(`${this.opts.file} cannot be read (${describeError(err)}); replacing it with the server's copy`);
          return null;
        });
        external.push(...(taken ?? []));
        const rendered = this.manifest.render();
        const nowSec = Math.floor(this.deps.now() / 1000);
        // Never reuse a Last-Modified second that a client has seen (If-Modified-Since is per second).
        const lastModifiedSec = this.servedSec >= nowSec ? Math.min(this.servedSec + 1, nowSec + 1) : nowSec;
        // The file keeps the format its name says; /manifest.js.gz is served gzip either way.
        // The replaced file is freed after the answers go out: at 1M entries that is 43 MB of pages
        // and blocks, which the rename would otherwise free while the notices wait.
        const data = isGzipName(this.opts.file) ? rendered.members : [this.manifest.json()];
        if (full) {
          release = await atomicWrite(this.opts.file, data, { mtime: lastModifiedSec, deferRemoval: true });
          await this.journal.rebase();
          const st = await stat(this.opts.file);
          this.ownWrite = { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size };
        } else {
          let seq = 0;
          const alongside = async (id: FileId) => void (seq = await this.journal.append(batch, id));
          const write = await atomicWriteDeferred(this.opts.file, data, { mtime: lastModifiedSec, alongside, ...(this.deps.beforeStep ? { beforeStep: this.deps.beforeStep } : {}) });
          deferred = { seq, write };
          release = write.release;
          this.ownWrite = write.id;
        }
        this.published = { rendered, lastModifiedSec, generation: this.published.generation + 1 };
      });
      this.lastWriteMs = this.deps.now();
      this.writeCount++;
      this.announce(external, this.lastWriteMs);
      for (const [key, entry] of batch) this.events.append(key, entry, this.lastWriteMs);
      for (const w of waiters) w.resolve();
      const d = deferred as { seq: number; write: DeferredWrite } | null;
      if (d) this.journal.written(d.seq, d.write);
      // Not awaited: the next write need not wait for it (flush() does).
      this.releasing = release().catch((err: unknown) => this.deps.log.warn(`cannot remove the replaced manifest's temp link: ${describeError(err)}`));
    } catch (err) {
      // What another process wrote is on disk all the same: serve and announce it.
      if (external.length > 0) {
        await this.publishFile(this.published.generation + 1).catch(() => {});
        this.announce(external, this.deps.now());
      }
      // Keep the changes for the next attempt (newer changes to the same key win).
      for (const [k, v] of batch) if (!this.unwritten.has(k)) this.unwritten.set(k, v);
      this.deps.log.error({ err }, `cannot write ${this.opts.file}: ${describeError(err)}; will retry`);
      for (const w of waiters) w.reject(err);
      if (!this.timer) this.timer = setTimeout(() => ((this.timer = null), this.schedule(0)), 1000);
    }
  }

  /** True when the file on disk is the one this store last wrote. */
  async isOwnWrite(): Promise<boolean> {
    const st = await stat(this.opts.file).catch(() => null);
    const own = this.ownWrite;
    return !!st && !!own && st.ino === own.ino && st.mtimeMs === own.mtimeMs && st.size === own.size;
  }

  /**
   * Someone else rewrote the file (a cron walk, grok-fsck): take it in (under the lock, so it cannot
   * change again half-read), serve it, then announce what differs. Returns the number of changes.
   */
  reload(): Promise<number> {
    // Not before a deferred build: the manifest in memory is then empty, not the file's.
    return this.inTurn(() =>
      this.whenBuilt().then(() => withLock(lockPathFor(this.opts.file), async () => {
        const changes = await this.takeExternal(new Map());
        if (changes === null) return 0;
        // The other writer's file holds what the journal held (it read ours under this lock): it is the base now.
        await this.journal.rebase();
        await this.publishFile(this.published.generation + 1);
        this.announce(changes, this.deps.now());
        if (this.unwritten.size > 0) this.schedule();
        return changes.length;
      })),
    );
  }

  /**
   * Takes in the file when another process wrote it last: its entries replace ours, except the ones
   * we changed and have not written yet (`pending`, being written now, and `unwritten`), which are
   * newer. Returns what changed in memory (the caller announces it once it is served); null when the
   * file is our own write.
   */
  private async takeExternal(pending: ReadonlyMap<string, ManifestEntry | null>): Promise<Change[] | null> {
    if (await this.isOwnWrite()) return null;
    const ours = (k: string) => pending.has(k) || this.unwritten.has(k);
    const sliced = await readSliced(this.opts);
    if (sliced) return this.manifest.replaceWith(sliced, ours);
    const parsed = await readManifestFile(this.opts.file, this.opts.maxBytes);
    if (!parsed) return null;
    return this.manifest.replaceWith({ entries: parsed.entries }, ours);
  }

  private announce(changes: readonly Change[], at: number): void {
    for (const c of changes) this.events.append(c.key, c.entry, at);
  }

  /** Writes whatever is pending and waits for it. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
      if (this.waiters.length > 0 || this.unwritten.size > 0) this.writing = this.inTurn(() => this.write()).finally(() => (this.writing = null));
    }
    while (this.writing) await this.writing;
    await this.releasing;
    await this.journal.idle();
  }
}

function rejectedReporter(file: string, log: Logger): (r: Rejected) => void {
  return (r) => log.warn({ repo: r.key }, `${file}: ignoring entry ${JSON.stringify(r.key)}: ${r.why}`);
}

/**
 * The manifest in a file not in the sliced form: a compact gzip one is cut into slices as it inflates
 * (slice-stream.ts); any other, or one that does not stream (not one JSON object, over the cap), is
 * read whole, which names what is wrong with it.
 */
async function loadManifest(opts: StoreOptions, onRejected: (r: Rejected) => void): Promise<ChunkedManifest> {
  const streamed = opts.pretty || !isGzipName(opts.file) ? null : await streamSlices(opts.file, opts.maxBytes, onRejected).catch(() => null);
  if (streamed) return ChunkedManifest.fromMembers(streamed.members, streamed.entries, opts.pretty, onRejected, opts.maxBytes);
  const parsed = await readManifestFile(opts.file, opts.maxBytes);
  for (const r of parsed?.rejected ?? []) onRejected(r);
  return ChunkedManifest.build(parsed?.entries ?? new Map(), opts.pretty, onRejected, opts.maxBytes);
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  // Observed here: a failed build is reported through build() and whenBuilt(), not as unhandled.
  promise.catch(() => {});
  return { promise, resolve, reject };
}
