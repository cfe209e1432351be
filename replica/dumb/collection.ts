/**
 * Objects from the whole collection, the acting part: the one place grok-dumb-pull touches objstores,
 * always through shared/objstore's verbs and grok-fsck's lock order (the repository's lock, then the
 * objstore's), so what it leaves is what grok-fsck would have made and grok-fsck finds nothing to redo.
 *
 * - A new URL whose advertised tips a mirror here holds (tip-index.ts, checked on disk: tips.ts
 *   decides) is cloned with `--reference` to that mirror's objstore; a mirror in none first joins a
 *   new one, as grok-fsck would join it. Once renamed into place, the clone joins the objstore too
 *   (its own objects fetched in, its alternates kept, slimmed, its connectivity checked).
 * - A mirror in no objstore whose new tips another holds joins that one's objstore before its fetch,
 *   which then negotiates with all the objstore holds; a member is fetched as it is, and its new
 *   objects go to its objstore after.
 * - Every mirror's tips are recorded once it changed, at once (not at the next checkpoint), so forks
 *   later in the same sweep find them; a clone sharing tips with one still running waits for it.
 *
 * Crash safety: a clone borrows only from an objstore, which grok-fsck removes only when nothing
 * borrows from it; a clone killed before its rename is a temp directory the next sweep removes; one
 * killed after it, before joining, borrows from the objstore without being its member yet (safe: it
 * holds its own objects) and joins at its next visit (`settle`: its row was not written, so that
 * visit looks at the mirror). A wrong or stale index row costs a plain clone, never a failed one.
 */
import { existsSync } from 'node:fs';
import { mkdir, realpath } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { describeError } from '../../shared/errors.js';
import { OPT_OUT_FILE } from '../../shared/fsck/inventory.js';
import type { Git } from '../../shared/git/index.js';
import type { Logger } from '../../shared/log.js';
import { createObjstore, feedObjstore, isMember, joinStore, objstorePath, underLocks } from '../../shared/objstore/index.js';
import { isBareRepo } from '../../shared/repo/bare.js';
import { readAlternate } from '../../shared/repo/inspect.js';
import { isPromisorRepo } from '../../shared/repo/promisor.js';
import { localRefs } from './local-refs.js';
import type { RefMap } from './plan.js';
import type { TipIndex } from './tip-index.js';
import { newTips, planReference, tipsOf, type Candidate } from './tips.js';
import { alternatesFile } from '../../shared/repo/alternates.js';

/** Lock waits: joins take seconds; a lock held longer means working without the collection this time. */
const LOCK_WAIT_MS = 60_000;
/** Index answers tried per lookup (a stale row is dropped and the index asked again). */
const TRIES = 4;

export interface CollectionDeps {
  readonly git: Git;
  readonly log: Logger;
  /** The objstore directory (grok-fsck's `[core] objstore`), made on first need. */
  readonly objstoreDir: string;
  readonly index: TipIndex;
  /** Names a new objstore (grok-fsck's naming on origins: a UUID). */
  readonly newName?: () => string;
}

export class Collection {
  /** Clones of this process in flight, by tip: a fork of one waits for it rather than clone in full beside it. */
  private readonly running = new Map<string, Promise<void>>();
  private storeDirReal: string | null = null;

  constructor(private readonly d: CollectionDeps) {}

  private async storeDir(): Promise<string> {
    if (this.storeDirReal === null) {
      await mkdir(this.d.objstoreDir, { recursive: true });
      this.storeDirReal = await realpath(this.d.objstoreDir);
    }
    return this.storeDirReal;
  }

  /** The objstore (path) `repo` borrows from when it is one in our objstore directory, else null. */
  private async ownStore(repo: string): Promise<string | null> {
    const alt = await readAlternate(repo);
    if (alt === null || alt.objstoreMembers === null) return null;
    return path.dirname(alt.repo) === (await this.storeDir()) ? alt.repo : null;
  }

  private async holdsAny(repo: string, tips: readonly string[]): Promise<boolean> {
    const res = await this.d.git.run({ gitDir: repo, args: ['cat-file', '--batch-check'], input: Buffer.from(tips.map((t) => `${t}\n`).join('')), okExit: [128] });
    return res.exitCode === 0 && res.stdout.toString('utf8').split('\n').some((l) => l !== '' && !l.endsWith(' missing'));
  }

  /** What the mirror the index named is, for lending. */
  private async candidate(p: string, tips: readonly string[], self: string): Promise<Candidate> {
    if (p === self) return { path: p, state: 'not-lendable', store: null };
    if (!(await isBareRepo(p))) return { path: p, state: 'gone', store: null };
    if (isPromisorRepo(p) || existsSync(path.join(p, OPT_OUT_FILE))) return { path: p, state: 'not-lendable', store: null };
    if (!(await this.holdsAny(p, tips))) return { path: p, state: 'lacks-tips', store: null };
    const store = await this.ownStore(p);
    if (store !== null) return { path: p, state: 'member', store };
    return { path: p, state: existsSync(alternatesFile(p)) ? 'borrows-elsewhere' : 'standalone', store: null };
  }

  /** The objstore to borrow from for these tips, made when the holder is in none; null: borrow nothing. */
  private async storeFor(self: string, tips: readonly string[], own: string | null): Promise<string | null> {
    if (tips.length === 0) return null;
    for (let i = 0; i < TRIES; i++) {
      const p = await this.d.index.lookup(tips);
      const plan = planReference(own, p === null ? null : await this.candidate(p, tips, self));
      switch (plan.kind) {
        case 'none':
          this.d.log.debug({ repo: self, action: 'collection' }, `nothing to borrow: ${plan.why}`);
          return null;
        case 'store':
          return plan.store;
        case 'new-store':
          return this.newStore(plan.holder);
        case 'forget':
          this.d.log.info({ repo: self, action: 'collection' }, `tip index named ${plan.path}, which is gone; forgotten`);
          await this.d.index.forget(plan.path);
          break;
        case 'rerecord': {
          const refs = await localRefs(this.d.git, plan.path);
          await this.d.index.record(plan.path, refs ? tipsOf(refs) : []);
          break;
        }
      }
    }
    return null;
  }

  /** `holder` (in no objstore) joins a new one, as grok-fsck's create step does, under its locks. */
  private async newStore(holder: string): Promise<string | null> {
    const store = objstorePath(await this.storeDir(), (this.d.newName ?? randomUUID)());
    const r = await underLocks({ repos: [holder], stores: [store] }, async () => {
      // Another clone of this sweep (or grok-fsck) may have put it in one meanwhile.
      const now = await this.ownStore(holder);
      if (now !== null) return now;
      if ((await readAlternate(holder)) !== null) return null;
      await createObjstore(this.d.git, store);
      await joinStore(this.d.git, store, holder, { isPrivate: false, plumbing: false });
      this.d.log.info({ repo: holder, action: 'objstore' }, `joined the new objstore ${path.basename(store)}`);
      return store;
    }, { outerMs: LOCK_WAIT_MS, innerMs: LOCK_WAIT_MS });
    if (r.status === 'done') return r.value;
    this.d.log.warn({ repo: holder, action: 'objstore' }, `no objstore from it this time (${r.status}): ${describeError(r.error)}`);
    return null;
  }

  /**
   * Before cloning into `dir`: the objstore to pass as --reference (or null), and a function to call
   * once the clone is settled (or failed), which lets the clones waiting on this one go on.
   */
  async beforeClone(dir: string, remote: RefMap): Promise<{ reference: string | null; release: () => void }> {
    const tips = tipsOf(remote);
    const waits = new Set<Promise<void>>();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    for (const t of tips) {
      const w = this.running.get(t);
      if (w) waits.add(w);
      else this.running.set(t, mine);
    }
    const done = () => {
      for (const t of tips) if (this.running.get(t) === mine) this.running.delete(t);
      release();
    };
    try {
      await Promise.all(waits);
      return { reference: await this.storeFor(dir, tips, null), release: done };
    } catch (err) {
      done();
      throw err;
    }
  }

  /** Before fetching a mirror in no objstore: it joins the objstore of a mirror that holds its new tips. */
  async beforeFetch(dir: string, remote: RefMap, local: RefMap | null): Promise<void> {
    if (existsSync(alternatesFile(dir))) return;
    const store = await this.storeFor(dir, newTips(remote, local), null);
    if (store !== null) await this.join(dir, store);
  }

  /** A borrowing mirror not yet a member of its objstore becomes one (after a clone, or a crash before that). */
  private async join(dir: string, store: string): Promise<void> {
    const r = await underLocks({ repos: [dir], stores: [store] }, async () => {
      if (!(await isMember(this.d.git, store, dir))) {
        await joinStore(this.d.git, store, dir, { isPrivate: false, plumbing: false });
        this.d.log.info({ repo: dir, action: 'objstore' }, `joined objstore ${path.basename(store)}`);
      }
    }, { outerMs: LOCK_WAIT_MS, innerMs: LOCK_WAIT_MS });
    if (r.status !== 'done') this.d.log.warn({ repo: dir, action: 'objstore' }, `not a member of ${path.basename(store)} yet (${r.status}; next visit): ${describeError(r.error)}`);
  }

  /**
   * After a mirror was cloned, fetched, or looked at without a recorded digest: a borrower joins its
   * objstore if it has not, a member's new objects go to its objstore, and its tips are recorded.
   */
  async settle(dir: string, fetched: boolean): Promise<void> {
    const store = await this.ownStore(dir);
    if (store !== null) {
      if (!(await isMember(this.d.git, store, dir))) await this.join(dir, store);
      else if (fetched) {
        const fed = await feedObjstore(this.d.git, store, dir);
        if (fed !== 'fed') this.d.log.debug({ repo: dir, action: 'objstore' }, `objstore not fed now: ${fed}`);
      }
    }
    const refs = await localRefs(this.d.git, dir);
    if (refs !== null) await this.d.index.record(dir, tipsOf(refs));
  }
}
