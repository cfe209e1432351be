/**
 * Which repositories grok-manifest has to look at, and which entries it drops, decided from the
 * existing manifest, the command line and (when one was needed) a walk of the toplevel. Pure.
 */
import type { Manifest } from '../../shared/manifest/entry.js';
import type { Discovery } from '../../shared/repo/discover.js';

export interface Target {
  readonly key: string;
  readonly path: string;
  readonly exportOk: boolean;
}

/** A command-line path, already resolved: a repo, or a symlink to one. */
export type GivenPath = (Target & { readonly kind: 'repo' }) | { readonly kind: 'symlink'; readonly key: string; readonly target: Target };

export interface PlanOptions {
  readonly remove: boolean;
  readonly purge: boolean;
  readonly checkExportOk: boolean;
}

export interface ManifestPlan {
  readonly inspect: readonly Target[];
  readonly remove: ReadonlyMap<string, string>;
  /** Full walk: symlink lists come from the walk and replace what entries had. */
  readonly walkSymlinks: ReadonlyMap<string, readonly string[]> | null;
  /** Path mode: symlink keys named on the command line, by target key, merged into the entry. */
  readonly givenSymlinks: ReadonlyMap<string, readonly string[]>;
}

/** No paths, -p, or an empty manifest mean a full walk (a damaged or new manifest is rebuilt whole). */
export function needsWalk(existing: Manifest, given: readonly GivenPath[], opts: PlanOptions): boolean {
  if (opts.remove && given.length > 0) return false;
  return opts.purge || given.length === 0 || existing.size === 0;
}

/** The repositories named on the command line (a symlink names its target), each once. */
export function givenTargets(given: readonly GivenPath[]): Target[] {
  const byKey = new Map<string, Target>();
  for (const g of given) {
    const t = g.kind === 'repo' ? g : g.target;
    byKey.set(t.key, t);
  }
  return [...byKey.values()];
}

export function planManifest(existing: Manifest, given: readonly GivenPath[], walk: Discovery | null, opts: PlanOptions): ManifestPlan {
  const remove = new Map<string, string>();
  const givenSymlinks = new Map<string, string[]>();
  if (opts.remove && given.length > 0) {
    for (const g of given) remove.set(g.key, 'removed on request');
    return { inspect: [], remove, walkSymlinks: null, givenSymlinks };
  }
  let walkSymlinks: Map<string, string[]> | null = null;
  if (walk) {
    const found = new Set(walk.repos.map((r) => r.key));
    for (const key of existing.keys()) if (!found.has(key)) remove.set(key, 'repository is gone');
    walkSymlinks = new Map();
    for (const s of walk.symlinks) {
      const list = walkSymlinks.get(s.targetKey) ?? [];
      list.push(s.key);
      walkSymlinks.set(s.targetKey, list);
    }
  }
  let candidates: Target[];
  if (given.length > 0 && existing.size > 0) {
    for (const g of given) {
      if (g.kind === 'symlink') givenSymlinks.set(g.target.key, [...(givenSymlinks.get(g.target.key) ?? []), g.key]);
    }
    candidates = givenTargets(given);
  } else {
    candidates = walk ? walk.repos : [];
  }
  const inspect: Target[] = [];
  for (const c of candidates) {
    if (opts.checkExportOk && !c.exportOk) {
      if (existing.has(c.key)) remove.set(c.key, 'no longer exported (no git-daemon-export-ok)');
      continue;
    }
    remove.delete(c.key);
    inspect.push(c);
  }
  return { inspect, remove, walkSymlinks, givenSymlinks };
}
