/**
 * grok-fsck's objstore work as typed steps, each one verb of shared/objstore on one objstore (and the
 * repositories it touches). Pure: inventory and grouping plan in, steps out; objstore-runner.ts
 * carries them out. Stages, each planned from a fresh inventory: departures (members that left, stale
 * refs; on origins, repositories borrowing from one that may not give), then the grouping plan
 * (merges before joins, joins before new objstores), then objstores nothing borrows from.
 */
import type { GroupPlan } from './group.js';
import type { Inventory, RepoInfo, StoreInfo } from './inventory.js';

export type ObjstoreStep =
  /** Under the objstore's lock: stale temps and refs of unknown members go; `leaving` members leave. */
  | { readonly kind: 'tidy'; readonly store: StoreInfo; readonly leaving: readonly Departure[] }
  /** An opted-out member still borrowing: it takes its objects back, then the objstore forgets it. */
  | { readonly kind: 'take-back-and-leave'; readonly store: StoreInfo; readonly departure: Departure }
  /** A served repository borrowing from one that may not give (origins): it takes its objects back. */
  | { readonly kind: 'take-back'; readonly repo: RepoInfo; readonly lender: string; readonly why: string }
  | { readonly kind: 'merge'; readonly from: StoreInfo; readonly into: StoreInfo }
  | { readonly kind: 'join'; readonly store: string; readonly storePath: string; readonly repo: RepoInfo }
  /** A repository borrowing straight from a sibling moves its borrowing to the objstore (adopt-alternates.ts). */
  | { readonly kind: 'adopt'; readonly store: string; readonly storePath: string; readonly repo: RepoInfo }
  /** An adoption a kill cut short: the old alternates line goes once nothing needs it. */
  | { readonly kind: 'finish-adoption'; readonly store: StoreInfo; readonly repo: RepoInfo }
  /** A new objstore, then its members join it (public ones first). */
  | { readonly kind: 'create'; readonly name: string; readonly storePath: string; readonly members: readonly RepoInfo[] }
  | { readonly kind: 'retire'; readonly store: StoreInfo };

export interface Departure {
  readonly v: string;
  readonly member: string;
  /** Its repository is still there (else only the objstore's record of it goes). */
  readonly exists: boolean;
  readonly why: string;
  /** It is private now: what it brought must stop being readable through the objstore. */
  readonly nowPrivate: boolean;
}

function departureOf(info: RepoInfo | undefined, s: StoreInfo, v: string, member: string, exists: boolean): Departure | null {
  const here = info?.store === s.name;
  if (info && here && !info.isPrivate && !info.optOut) return null;
  const why = !exists ? 'gone' : info?.isPrivate ? `private now: ${info.privateWhy}` : info?.optOut ? 'opted out' : 'borrows elsewhere';
  return { v, member, exists, why, nowPrivate: Boolean(exists && info?.isPrivate) };
}

/** Stage 1. `exists` tells which member paths are still repositories. */
export function departureSteps(inv: Inventory, exists: ReadonlySet<string>, origin: boolean): ObjstoreStep[] {
  const byPath = new Map(inv.repos.map((r) => [r.path, r]));
  const steps: ObjstoreStep[] = [];
  for (const s of inv.stores) {
    const leaving: Departure[] = [];
    const takingBack: ObjstoreStep[] = [];
    for (const [v, member] of s.remotes) {
      const info = byPath.get(member);
      const d = departureOf(info, s, v, member, exists.has(member));
      if (!d) continue;
      // An opted-out member that still borrows takes its objects back (under its own lock first).
      if (info && info.store === s.name && info.optOut) takingBack.push({ kind: 'take-back-and-leave', store: s, departure: d });
      else leaving.push(d);
    }
    steps.push({ kind: 'tidy', store: s, leaving }, ...takingBack);
  }
  for (const r of inv.repos) {
    const s = r.extraAlternates ? inv.stores.find((x) => x.name === r.store) : undefined;
    if (s) steps.push({ kind: 'finish-adoption', store: s, repo: r });
  }
  for (const r of origin ? inv.repos : []) {
    if (r.isPrivate || r.borrowsFrom === null) continue;
    const lender = byPath.get(r.borrowsFrom);
    if (lender && !lender.isPrivate) continue;
    steps.push({ kind: 'take-back', repo: r, lender: r.borrowsFrom, why: lender ? (lender.privateWhy ?? 'private') : 'outside the toplevel' });
  }
  return steps;
}

/** Stage 2: the grouping plan as steps. `nameNew` names an objstore the plan left unnamed. */
export function planSteps(plan: GroupPlan, inv: Inventory, storePath: (name: string) => string, nameNew: () => string): ObjstoreStep[] {
  const byPath = new Map(inv.repos.map((r) => [r.path, r]));
  const byName = new Map(inv.stores.map((s) => [s.name, s]));
  const steps: ObjstoreStep[] = [];
  for (const m of plan.merges) steps.push({ kind: 'merge', from: byName.get(m.from)!, into: byName.get(m.into)! });
  for (const j of plan.joins) {
    const repo = byPath.get(j.key)!;
    steps.push({ kind: repo.borrowsFrom !== null ? 'adopt' : 'join', store: j.store, storePath: byName.get(j.store)?.path ?? storePath(j.store), repo });
  }
  for (const n of plan.newStores) {
    const members = n.members.map((k) => byPath.get(k)!).sort((a, b) => Number(a.isPrivate) - Number(b.isPrivate));
    if (members.every((m) => m.isPrivate)) continue; // nothing could be shared
    const name = n.name ?? nameNew();
    steps.push({ kind: 'create', name, storePath: storePath(name), members });
  }
  return steps;
}

/**
 * A repository borrowing straight from a sibling that may move its borrowing to an objstore: public,
 * not opted out, its object directory its own, nobody borrowing from it in turn (a lender is slimmed
 * only once nothing borrows from it), and its lender one of the repositories here.
 */
export function adoptable(r: RepoInfo, inv: Inventory): boolean {
  if (r.borrowsFrom === null || r.isPrivate || r.optOut || r.sharedObjects !== null || inv.lenders.has(r.path)) return false;
  return inv.repos.some((x) => x.path === r.borrowsFrom);
}

/** Stage 3: every objstore gets its marker in line; those nothing borrows from go. */
export function retireSteps(inv: Inventory): ObjstoreStep[] {
  return inv.stores.map((store) => ({ kind: 'retire', store }));
}
