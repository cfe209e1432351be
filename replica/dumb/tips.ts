/**
 * Objects from the whole collection, the deciding part (pure; collection.ts acts). A URL's tips are
 * what its branches and tags point at; the tip index (tip-index.ts) names a mirror holding some of
 * them; what that mirror is on disk decides what the new clone (or the fetch of a mirror in no
 * objstore) borrows from. Only ever an objstore: a sibling mirror can be removed or repacked under a
 * repository that borrows from it, an objstore outlives its users (grok-fsck removes one only when
 * nothing borrows from it).
 */
import type { RefMap } from './plan.js';

/** Tips taken per mirror: bounded, so a repository with a million tags costs what 64 cost. */
export const MAX_TIPS = 64;

const rank = (n: string) => (n.startsWith('refs/heads/') ? 0 : n.startsWith('refs/tags/') ? 1 : 2);

/**
 * Branch heads first, then tags, in name order, at most `cap`
 * distinct objects: forks with the same tags pick the same ones, which is what makes them meet.
 * Refs other than heads and tags (pull requests, notes) are left out: upstreams differ most there.
 * Peeled `^{}` lines too: a mirror's own refs have none, and the tag object itself is a tip.
 */
export function tipsOf(refs: RefMap, cap = MAX_TIPS): string[] {
  const names = [...refs.keys()].filter((n) => rank(n) < 2 && !n.endsWith('^{}')).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  const out = new Set<string>();
  for (const n of names) {
    if (out.size >= cap) break;
    out.add(refs.get(n)!);
  }
  return [...out];
}

/** The remote's tips the mirror does not have under any ref: what a fetch would bring. */
export function newTips(remote: RefMap, local: RefMap | null): string[] {
  const have = new Set(local?.values() ?? []);
  return tipsOf(remote).filter((t) => !have.has(t));
}

/** What the mirror the index named is, on disk, as far as lending goes. */
export type CandidateState =
  /** Not a repository any more (removed, moved): the index row is stale. */
  | 'gone'
  /** A repository, none of the looked-up tips in it (the index row is out of date). */
  | 'lacks-tips'
  /** May not lend: a partial clone, opted out (grokmirror.do-not-objstore), or the asking mirror itself. */
  | 'not-lendable'
  /** Borrows from something other than an objstore of ours: grok-fsck's to sort out first. */
  | 'borrows-elsewhere'
  /** A member of an objstore in our objstore directory (`store` names it). */
  | 'member'
  /** Holds its objects alone: it becomes the first member of a new objstore. */
  | 'standalone';

export interface Candidate {
  readonly path: string;
  readonly state: CandidateState;
  /** For 'member': the objstore's path. */
  readonly store: string | null;
}

export type ReferencePlan =
  | { readonly kind: 'none'; readonly why: string }
  /** Borrow from this existing objstore (clone --reference it, or join it before a fetch). */
  | { readonly kind: 'store'; readonly store: string }
  /** Make an objstore with `holder` as its first member (grok-fsck's join, under its locks), then as 'store'. */
  | { readonly kind: 'new-store'; readonly holder: string }
  /** The row named a mirror that is gone: forget it and ask the index again. */
  | { readonly kind: 'forget'; readonly path: string }
  /** The row named a mirror that moved on: record what it holds now and ask the index again. */
  | { readonly kind: 'rerecord'; readonly path: string };

/**
 * `ownStore`: the objstore the asking mirror is a member of already (null for a new URL): it fetches
 * as it is, its objstore as alternate, and its fetch negotiates with all the objstore holds.
 */
export function planReference(ownStore: string | null, c: Candidate | null): ReferencePlan {
  if (ownStore !== null) return { kind: 'none', why: `a member of ${ownStore} already` };
  if (c === null) return { kind: 'none', why: 'no mirror holds any of its tips' };
  switch (c.state) {
    case 'gone':
      return { kind: 'forget', path: c.path };
    case 'lacks-tips':
      return { kind: 'rerecord', path: c.path };
    case 'not-lendable':
      return { kind: 'none', why: `${c.path} may not lend` };
    case 'borrows-elsewhere':
      return { kind: 'none', why: `${c.path} borrows from outside the objstore directory` };
    case 'member':
      return c.store !== null ? { kind: 'store', store: c.store } : { kind: 'none', why: `${c.path}: no objstore named` };
    case 'standalone':
      return { kind: 'new-store', holder: c.path };
  }
}
