/**
 * Turns change notices into manifest changes: inspect the named repositories (the same rules as
 * grok-manifest), apply the entries to the store and resolve when the write that carries them is on
 * disk. Notices for one repository are handled one after another, so an older state never lands
 * after a newer one; notices for different repositories share inspection batches and writes.
 */
import type { Git } from '../../shared/git/index.js';
import type { Logger } from '../../shared/log.js';
import { entryUpdates } from '../manifest/entry-updates.js';
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

export class NotifyQueue {
  private readonly tails = new Map<string, Promise<unknown>>();
  inFlight = 0;
  handled = 0;

  constructor(
    private readonly store: ManifestStore,
    private readonly git: Git,
    private readonly log: Logger,
    private readonly toplevel: string,
    private readonly now: () => number,
  ) {}

  /** Handles one notice (any number of repositories); resolves after the manifest write. */
  async submit(targets: readonly Target[], opts: NoticeOptions): Promise<NoticeResult> {
    const previous = targets.map((t) => this.tails.get(t.key) ?? Promise.resolve());
    const run = Promise.allSettled(previous).then(() => this.process(targets, opts));
    const tail = run.catch(() => {});
    for (const t of targets) this.tails.set(t.key, tail);
    void tail.then(() => {
      for (const t of targets) if (this.tails.get(t.key) === tail) this.tails.delete(t.key);
    });
    this.inFlight++;
    try {
      return await run;
    } finally {
      this.inFlight--;
      this.handled++;
    }
  }

  private async process(targets: readonly Target[], opts: NoticeOptions): Promise<NoticeResult> {
    const store = this.store;
    const outcomes = await inspectTargets(this.git, this.log, targets, {
      ignoreRefs: opts.ignoreRefs,
      old: { get: (k: string) => store.get(k) },
      useNow: opts.useNow,
      concurrency: 4,
    });
    const updates = await entryUpdates(targets, outcomes, {
      toplevel: this.toplevel,
      useNow: opts.useNow && store.size > 0,
      nowSec: Math.floor(this.now() / 1000),
      log: this.log,
      oldEntry: (k) => store.get(k),
      symlinksFor: (t, old) => liveSymlinks(this.toplevel, t, old, []),
    });
    const res: NoticeResult = { added: [], updated: [], unchanged: [], removed: [], failed: [] };
    const changes: Change[] = [];
    for (const u of updates) {
      if (u.kind === 'failed') res.failed.push({ key: u.key, error: u.error });
      else if (u.kind === 'no-refs') {
        if (u.existed) (changes.push({ key: u.key, entry: null }), res.removed.push(u.key));
      } else {
        res[u.kind].push(u.key);
        if (u.kind !== 'unchanged') changes.push({ key: u.key, entry: u.entry });
      }
    }
    await store.apply(changes);
    for (const k of [...res.added, ...res.updated]) this.log.info({ repo: k, action: 'notify' }, `updated ${k}`);
    return res;
  }
}
