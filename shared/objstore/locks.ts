/**
 * Lock order for object-store work, for every process that touches objstores (grok-pull, grok-fsck,
 * grok-manifest feeding an origin's objstore):
 *
 *   1. repositories before objstores: a process holding an objstore's lock never asks for a
 *      repository's lock;
 *   2. within each kind, in path order (a merge takes both objstores that way);
 *   3. only the first (outermost) lock may be waited for; every inner one is tried once, or waited
 *      for a bounded time, so that two processes can never wait on each other for ever.
 *
 * The lock files are grokmirror's (`lockPathFor`), so grokmirror and we exclude each other too.
 * `underLocks` is the one way to take them, and tells "busy" (someone else holds a lock, or a fresh
 * git lock is in the way: try again next run) from "failed" (an error to report).
 */
import { isLockBusy, lockPathFor, withLock } from '../lock.js';
import { isGitLockBusy } from '../repo/git-locks.js';

export interface LockSet {
  readonly repos?: readonly string[];
  readonly stores?: readonly string[];
}

export interface LockWaits {
  /** How long to wait for the outermost lock (default: not at all). */
  readonly outerMs?: number;
  /** How long to wait for each inner lock (default: not at all: tried once). */
  readonly innerMs?: number;
}

export type Locked<T> = { readonly status: 'done'; readonly value: T } | { readonly status: 'busy'; readonly error: unknown } | { readonly status: 'failed'; readonly error: unknown };

/** A failure of object-store work, carried with the repository (or objstore) it concerns. */
export interface RepoFailure {
  readonly repo: string;
  readonly error: unknown;
}

export function isBusy(err: unknown): boolean {
  return isLockBusy(err) || isGitLockBusy(err);
}

/** Runs `fn` holding the locks of `set`, taken in the order above. */
export async function underLocks<T>(set: LockSet, fn: () => Promise<T>, waits: LockWaits = {}): Promise<Locked<T>> {
  const order = [...[...(set.repos ?? [])].sort(), ...[...(set.stores ?? [])].sort()];
  const nest = (i: number): Promise<T> =>
    i === order.length ? fn() : withLock(lockPathFor(order[i]!), () => nest(i + 1), { timeoutMs: (i === 0 ? waits.outerMs : waits.innerMs) ?? 0 });
  try {
    return { status: 'done', value: await nest(0) };
  } catch (error) {
    return isBusy(error) ? { status: 'busy', error } : { status: 'failed', error };
  }
}
