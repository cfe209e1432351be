/**
 * Carries out objstore steps (objstore-steps.ts), each under the locks its verb needs, taken in the
 * order of shared/objstore/locks.ts. A busy step (grok-pull holds a lock, or a fresh git lock is in
 * the way) waits for the next run and is noted; a failed one is carried as {repo, error} and the
 * other steps go on.
 */
import { existsSync, promises as fsp } from 'node:fs';
import { describeError } from '../errors.js';
import { removeStaleTempsIn } from '../fs/atomic.js';
import type { Git } from '../git/index.js';
import type { Logger } from '../log.js';
import {
  adoptAlternates,
  createObjstore,
  finishAdoption,
  joinStore,
  leaveStore,
  mergeStore,
  removeStore,
  storeRemotes,
  syncMarker,
  takeBack,
  trimStaleVirtrefs,
  underLocks,
  type LockSet,
  type RepoFailure,
} from '../objstore/index.js';
import { isBareRepo } from '../repo/bare.js';
import { clearStaleGitLocks } from '../repo/git-locks.js';
import { bundlePath } from './bundle.js';
import type { RepoInfo, StoreInfo } from './inventory.js';
import type { Departure, ObjstoreStep } from './objstore-steps.js';
import { markPurge } from './purge-mark.js';

export interface RunnerOptions {
  readonly plumbing: boolean;
  readonly now: () => number;
  readonly preloadBundleDir?: string;
}

export class StepRunner {
  readonly notes: string[] = [];
  readonly failures: RepoFailure[] = [];
  /** Objstores that gained members or were merged into: they get a full repack. */
  readonly grown = new Set<string>();
  /** Repositories adopted so far (their lenders may join once nothing borrows from them). */
  adopted = 0;

  constructor(
    private readonly git: Git,
    private readonly o: RunnerOptions,
    private readonly log: Logger,
  ) {}

  note(m: string): void {
    this.notes.push(m);
    this.log.info(m);
  }

  async runAll(steps: readonly ObjstoreStep[]): Promise<void> {
    for (const s of steps) await this.run(s);
  }

  /** Runs `fn` under `locks`; true when it was done. `subject` names what a failure concerns. */
  private async locked(subject: string, what: string, locks: LockSet, fn: () => Promise<void>, waitMs = 0): Promise<boolean> {
    const r = await underLocks(locks, async () => {
      this.unlock(...(locks.repos ?? []), ...(locks.stores ?? []));
      await fn();
    }, { outerMs: waitMs, innerMs: 0 });
    if (r.status === 'busy') this.note(`${what}: busy; next run (${describeError(r.error)})`);
    if (r.status === 'failed') {
      this.failures.push({ repo: subject, error: r.error });
      this.log.error({ repo: subject }, `${what}: ${describeError(r.error)}`);
    }
    return r.status === 'done';
  }

  private unlock(...dirs: string[]): void {
    for (const d of dirs) for (const l of clearStaleGitLocks(d, this.o.now())) this.note(`removed ${l}, left by a git process that was killed`);
  }

  private async removeBundle(name: string): Promise<boolean> {
    return this.o.preloadBundleDir ? fsp.rm(bundlePath(this.o.preloadBundleDir, name)).then(() => true, () => false) : false;
  }

  private async depart(s: StoreInfo, d: Departure, stillBorrows: boolean): Promise<void> {
    // What it brought must not stay readable by the served siblings: the objstore is marked for a
    // purge (run.ts) and its preload bundle goes, before its refs do.
    if (d.nowPrivate) {
      await markPurge(s.path, d.member, this.o.now());
      if (await this.removeBundle(s.name)) this.note(`${s.name}: removed its preload bundle, which held objects of ${d.member} (${d.why})`);
    }
    await leaveStore(this.git, s.path, d.v, d.exists ? d.member : null, stillBorrows);
    this.note(`${s.name}: ${d.member} left (${d.why})`);
  }

  async run(step: ObjstoreStep): Promise<void> {
    const { git } = this;
    switch (step.kind) {
      case 'tidy': {
        const s = step.store;
        await this.locked(s.path, `objstore ${s.name}`, { stores: [s.path] }, async () => {
          // A write of its marker or a member's fingerprint record that a kill cut short (all under this lock).
          for (const n of await removeStaleTempsIn(s.path)) this.note(`${s.name}: removed ${n}, left by a write that was cut short`);
          for (const d of step.leaving) await this.depart(s, d, false);
          const stale = await trimStaleVirtrefs(git, s.path, await storeRemotes(git, s.path));
          if (stale.length > 0) this.note(`${s.name}: trimmed refs of ${stale.length} unknown member(s)`);
        }, Infinity);
        return;
      }
      case 'take-back-and-leave': {
        const { store: s, departure: d } = step;
        await this.locked(d.member, `${s.name}: ${d.member} leaving`, { repos: [d.member], stores: [s.path] }, () => this.depart(s, d, true));
        return;
      }
      case 'take-back': {
        const r = step.repo;
        const done = await this.locked(r.path, `${r.key}: taking back what it borrows from ${step.lender}`, { repos: [r.path] }, () => takeBack(git, r.path));
        if (done) this.note(`${r.key} took back the objects it borrowed from ${step.lender} (${step.why}: it may not give objects to a served repository)`);
        return;
      }
      case 'merge': {
        const { from, into } = step;
        const done = await this.locked(into.path, `merging objstore ${from.name} into ${into.name}`, { stores: [into.path, from.path] }, async () => {
          await mergeStore(git, from.path, into.path, from.users);
          await removeStore(from.path);
        }, Infinity);
        if (done) {
          this.grown.add(into.name);
          this.note(`merged objstore ${from.name} into ${into.name} (${from.users.length} users)`);
        }
        return;
      }
      case 'join':
      case 'adopt': {
        if (await this.join(step.storePath, step.repo)) {
          this.grown.add(step.store);
          this.note(`${step.repo.key} ${step.kind === 'adopt' ? `moved its borrowing from ${step.repo.borrowsFrom} to` : 'joined'} objstore ${step.store}`);
        }
        return;
      }
      case 'finish-adoption': {
        const { store: s, repo: r } = step;
        await this.locked(r.key, `${r.key}: finishing its move to objstore ${s.name}`, { repos: [r.path], stores: [s.path] }, async () => {
          if (await finishAdoption(git, s.path, r.path)) this.note(`${r.key}: borrows from objstore ${s.name} alone now`);
          else this.note(`${r.key}: its refs moved while it was fetched into ${s.name}; keeps its old alternates line until the next run`);
        });
        return;
      }
      case 'create': {
        // A failure here is one objstore's, not the run's: carried like any other.
        const made = await this.locked(step.storePath, `creating objstore ${step.name}`, { stores: [step.storePath] }, async () => {
          await createObjstore(git, step.storePath);
        }, Infinity);
        if (!made) return;
        let joined = 0;
        const adoptedBefore = this.adopted;
        for (const m of step.members) if (await this.join(step.storePath, m)) joined++;
        this.grown.add(step.name);
        const moved = this.adopted - adoptedBefore;
        this.note(`new objstore ${step.name} with ${joined} of ${step.members.length} repositories${moved > 0 ? ` (${moved} moved their borrowing from a sibling to it)` : ''}`);
        return;
      }
      case 'retire': {
        const s = step.store;
        await this.locked(s.path, `objstore ${s.name}`, { stores: [s.path] }, async () => {
          await syncMarker(s.path, s.remotes);
          if (s.users.length > 0 || !existsSync(s.path)) return;
          for (const [v, member] of s.remotes) await leaveStore(git, s.path, v, (await isBareRepo(member)) ? member : null, false);
          await removeStore(s.path);
          await this.removeBundle(s.name);
          this.grown.delete(s.name);
          this.note(`removed objstore ${s.name}: nothing borrows from it`);
        }, Infinity);
        return;
      }
    }
  }

  /** The repository's lock is tried once (grok-pull may hold it); the objstore's waited for, bounded. */
  private async join(store: string, info: RepoInfo): Promise<boolean> {
    const { path: repo, key } = info;
    const r = await underLocks({ repos: [repo], stores: [store] }, async () => {
      this.unlock(repo, store);
      if (info.borrowsFrom !== null) {
        await adoptAlternates(this.git, store, repo);
        this.adopted++;
      } else await joinStore(this.git, store, repo, { isPrivate: info.isPrivate, plumbing: this.o.plumbing });
    }, { outerMs: 0, innerMs: 600_000 });
    if (r.status === 'busy') this.note(`${key}: busy (grok-pull?); joins its objstore next time`);
    if (r.status === 'failed') {
      this.failures.push({ repo: key, error: r.error });
      this.log.error({ repo: key }, `${key}: could not join ${store}: ${describeError(r.error)}`);
    }
    return r.status === 'done';
  }
}
