/**
 * Which repositories share an objstore (docs/architecture.md "grok-fsck"). Pure: roots in, plan out.
 *
 * Siblings share root commits: equal root sets, one a subset of the other, or a symmetric difference
 * of at most two. grokmirror applied the last test alone, which made any two unrelated one-root
 * repositories "siblings" (their symmetric difference is exactly two); we also require a shared root.
 * A repository joins the existing objstore its roots overlap best (shared / objstore roots >= 0.2),
 * objstores that hold a baseline repository first; the rest are grouped with their siblings into new
 * objstores (two or more repositories: a lone repository gains nothing from one). A repository whose
 * manifest names a forkgroup (a replica) goes to the objstore of that name, whatever its roots say.
 */

export interface RepoRoots {
  readonly key: string;
  readonly roots: readonly string[];
  /** The objstore it borrows from now, or null. */
  readonly store: string | null;
  /** The forkgroup its manifest entry names (replicas), or null. */
  readonly forkgroup: string | null;
  /** `grokmirror.do-not-objstore`, or a repository others borrow from outside any objstore. */
  readonly optOut: boolean;
  readonly baseline: boolean;
}

export interface StoreRoots {
  readonly name: string;
  /** Union of the roots of the repositories that use it. */
  readonly roots: readonly string[];
  readonly users: number;
  readonly hasBaseline: boolean;
  /** Named by a manifest forkgroup (replicas): never merged away, since grok-pull uses that name. */
  readonly fixedName: boolean;
}

export interface GroupPlan {
  /** Repositories that join an objstore that exists. */
  readonly joins: readonly { readonly key: string; readonly store: string }[];
  /** New objstores; `name` null means the executor picks one (a UUID, on origins). */
  readonly newStores: readonly { readonly name: string | null; readonly members: readonly string[] }[];
  /** Objstores holding siblings: `from`'s users move to `into`, then `from` goes. */
  readonly merges: readonly { readonly from: string; readonly into: string }[];
}

export const MIN_OVERLAP = 0.2;

export function areSiblings(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const shared = b.filter((r) => sa.has(r)).length;
  if (shared === 0) return false;
  if (shared === a.length || shared === b.length) return true; // equal, or one a subset of the other
  return a.length + b.length - 2 * shared <= 2;
}

/** Shared roots over the objstore's roots. */
export function overlap(repoRoots: readonly string[], storeRoots: readonly string[]): number {
  if (storeRoots.length === 0) return 0;
  const r = new Set(repoRoots);
  return storeRoots.filter((x) => r.has(x)).length / storeRoots.length;
}

function planMerges(stores: readonly StoreRoots[]): { from: string; into: string }[] {
  // Larger objstores absorb smaller ones; names break ties so the plan is deterministic.
  const order = [...stores].filter((s) => s.roots.length > 0).sort((a, b) => b.users - a.users || a.name.localeCompare(b.name));
  const absorbed = new Set<string>();
  const merges: { from: string; into: string }[] = [];
  for (const into of order) {
    if (absorbed.has(into.name)) continue;
    for (const from of order) {
      if (from === into || from.fixedName || absorbed.has(from.name) || from.users > into.users) continue;
      if (areSiblings(into.roots, from.roots)) {
        absorbed.add(from.name);
        merges.push({ from: from.name, into: into.name });
      }
    }
  }
  return merges;
}

/** Clusters of siblings among `repos` (connected through shared roots), singletons dropped. */
function siblingClusters(repos: readonly RepoRoots[]): string[][] {
  const parent = new Map<string, string>(repos.map((r) => [r.key, r.key]));
  const find = (k: string): string => {
    let p = parent.get(k)!;
    while (p !== parent.get(p)) p = parent.get(p)!;
    parent.set(k, p);
    return p;
  };
  const byRoot = new Map<string, RepoRoots[]>();
  for (const r of repos) {
    for (const root of r.roots) {
      const list = byRoot.get(root);
      if (list) list.push(r);
      else byRoot.set(root, [r]);
    }
  }
  // Only repositories that share a root can be siblings: compare within each root's list.
  for (const list of byRoot.values()) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]!;
        const b = list[j]!;
        if (find(a.key) !== find(b.key) && areSiblings(a.roots, b.roots)) parent.set(find(a.key), find(b.key));
      }
    }
  }
  const groups = new Map<string, string[]>();
  for (const r of repos) {
    const root = find(r.key);
    const list = groups.get(root);
    if (list) list.push(r.key);
    else groups.set(root, [r.key]);
  }
  return [...groups.values()].filter((g) => g.length > 1).map((g) => g.sort()).sort((a, b) => a[0]!.localeCompare(b[0]!));
}

export function groupForks(repos: readonly RepoRoots[], stores: readonly StoreRoots[]): GroupPlan {
  const merges = planMerges(stores);
  const mergedInto = new Map(merges.map((m) => [m.from, m.into]));
  // After the merges, each surviving objstore holds the roots of the ones it absorbed.
  const live = new Map<string, { roots: Set<string>; hasBaseline: boolean }>();
  for (const s of stores) if (!mergedInto.has(s.name)) live.set(s.name, { roots: new Set(s.roots), hasBaseline: s.hasBaseline });
  for (const s of stores) {
    const into = mergedInto.get(s.name);
    if (!into) continue;
    const target = live.get(into)!;
    for (const r of s.roots) target.roots.add(r);
    target.hasBaseline ||= s.hasBaseline;
  }

  const joins: { key: string; store: string }[] = [];
  const named = new Map<string, string[]>();
  const loose: RepoRoots[] = [];
  for (const r of [...repos].sort((a, b) => a.key.localeCompare(b.key))) {
    if (r.store !== null || r.optOut) continue;
    if (r.forkgroup !== null) {
      if (live.has(r.forkgroup)) joins.push({ key: r.key, store: r.forkgroup });
      else named.set(r.forkgroup, [...(named.get(r.forkgroup) ?? []), r.key]);
      continue;
    }
    if (r.roots.length === 0) continue;
    const best = [...live]
      .map(([name, s]) => ({ name, score: overlap(r.roots, [...s.roots]), baseline: s.hasBaseline }))
      .filter((c) => c.score >= MIN_OVERLAP)
      .sort((a, b) => Number(b.baseline) - Number(a.baseline) || b.score - a.score || a.name.localeCompare(b.name))[0];
    if (best) joins.push({ key: r.key, store: best.name });
    else loose.push(r);
  }
  const newStores = [
    ...[...named].sort(([a], [b]) => a.localeCompare(b)).map(([name, members]) => ({ name, members })),
    ...siblingClusters(loose).map((members) => ({ name: null, members })),
  ];
  return { joins, newStores, merges };
}
