/**
 * Turns change notices into manifest changes: inspect the named repositories (the same rules as
 * grok-manifest), apply the entries to the store, and answer each notice once the write carrying it
 * is on disk. Notices are micro-batched: the ones that arrive while a batch is being inspected form
 * the next batch, so a burst costs a few inspections (and git processes) instead of one per notice.
 * A batch is inspected only after every notice in it arrived and is applied after the batch before
 * it, so an older state of a repository never lands after a newer one.
 */
import type { Git } from '../../shared/git/index.js';
import type { Logger } from '../../shared/log.js';
import { entryUpdates, type EntryUpdate } from '../manifest/entry-updates.js';
import { inspectTargets } from '../manifest/inspect-targets.js';
import { liveSymlinks } from '../manifest/live-symlinks.js';
import type { Target } from '../manifest/plan.js';
import type { Change, ManifestStore } from './manifest-store.js';

export interface NoticeOptions {
  readonly useNow: boolean;
  readonly ignoreRefs: readonly string[];
}

export interface NoticeResult {
  readonly added: string[];
  readonly updated: string[];
  readonly unchanged: string[];
  readonly removed: string[];
  readonly failed: { key: string; error: string }[];
}

interface Notice {
  readonly targets: readonly Target[];
  readonly opts: NoticeOptions;
  resolve(r: NoticeResult): void;
  reject(err: unknown): void;
}

export class NotifyQueue {
  private waiting: Notice[] = [];
  private running = false;
  inFlight = 0;
  handled = 0;
  batches = 0;

  constructor(
    private readonly store: ManifestStore,
    private readonly git: Git,
    private readonly log: Logger,
    private readonly toplevel: string,
    private readonly now: () => number,
  ) {}

  /** Handles one notice (any number of repositories); resolves after the manifest write. */
  submit(targets: readonly Target[], opts: NoticeOptions): Promise<NoticeResult> {
    this.inFlight++;
    return new Promise<NoticeResult>((resolve, reject) => {
      this.waiting.push({ targets, opts, resolve, reject });
      if (!this.running) void this.drain();
    }).finally(() => {
      this.inFlight--;
      this.handled++;
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting;
        this.waiting = [];
        // Notices asking for different treatment (-n, ignore globs) are inspected separately.
        const groups = new Map<string, Notice[]>();
        for (const n of batch) {
          const k = JSON.stringify([n.opts.useNow, n.opts.ignoreRefs]);
          groups.set(k, [...(groups.get(k) ?? []), n]);
        }
        for (const group of groups.values()) await this.process(group);
      }
    } finally {
      this.running = false;
    }
  }

  private async process(group: readonly Notice[]): Promise<void> {
    this.batches++;
    const opts = group[0]!.opts;
    const byKey = new Map<string, Target>();
    for (const n of group) for (const t of n.targets) byKey.set(t.key, t);
    const targets = [...byKey.values()];
    let updates: EntryUpdate[];
    try {
      const store = this.store;
      // A notice that came while the manifest was being built (origin.ts) waits for it: the entries
      // it updates are compared with the manifest's.
      await store.whenBuilt();
      const outcomes = await inspectTargets(this.git, this.log, targets, {
        ignoreRefs: opts.ignoreRefs,
        old: { get: (k: string) => store.get(k) },
        useNow: opts.useNow,
        concurrency: 4,
      });
      updates = await entryUpdates(targets, outcomes, {
        toplevel: this.toplevel,
        useNow: opts.useNow && store.size > 0,
        nowSec: Math.floor(this.now() / 1000),
        log: this.log,
        oldEntry: (k) => store.get(k),
        symlinksFor: (t, old) => liveSymlinks(this.toplevel, t, old, []),
      });
    } catch (err) {
      for (const n of group) n.reject(err);
      return;
    }
    const changes: Change[] = [];
    const byUpdate = new Map(updates.map((u) => [u.key, u]));
    for (const u of updates) {
      if (u.kind === 'added' || u.kind === 'updated') changes.push({ key: u.key, entry: u.entry });
      else if (u.kind === 'no-refs' && u.existed) changes.push({ key: u.key, entry: null });
    }
    // Applied now, in order; the write (and the answers) follow without holding up the next batch.
    const written = this.store.apply(changes);
    for (const u of updates) if (u.kind === 'added' || u.kind === 'updated') this.log.info({ repo: u.key, action: 'notify' }, `updated ${u.key}`);
    for (const n of group) {
      const res: NoticeResult = { added: [], updated: [], unchanged: [], removed: [], failed: [] };
      for (const t of n.targets) {
        const u = byUpdate.get(t.key);
        if (!u) continue;
        if (u.kind === 'failed') res.failed.push({ key: u.key, error: u.error });
        else if (u.kind === 'no-refs') {
          if (u.existed) res.removed.push(u.key);
        } else res[u.kind].push(u.key);
      }
      written.then(() => n.resolve(res), (err: unknown) => n.reject(err));
    }
  }
}
