/**
 * Which repositories grok-bundle bundles, decided purely from the manifest's keys, the -i globs and
 * which repository each bundle directory on disk was made for; and which bundle directories on disk no
 * longer belong to any repository of the manifest.
 *
 * Keys can meet in the layout (shared/bundle-layout.ts): `/a` and `/a.git` map to one directory, which
 * stays with the repository its record names (else the first key); a key whose directory would need a
 * part named like grok-bundle's own files (`/x/clone.bundle.git`: `x/clone.bundle` is /x.git's bundle)
 * is refused whatever else exists, so that which one came first never decides.
 */
import { matchesAny } from '../../shared/glob.js';
import { bundleDirFor, ownFileName } from '../../shared/bundle-layout.js';

export interface BundleTarget {
  readonly key: string;
  /** Relative to the outdir (shared/bundle-layout.ts). */
  readonly dir: string;
}

export interface BundlePlan {
  readonly targets: readonly BundleTarget[];
  /** Keys matched by -i that get no bundle, and why. */
  readonly refused: readonly { readonly key: string; readonly why: string }[];
  /** Bundle directories some repository of the manifest owns (every key, matched by -i or not). */
  readonly owned: ReadonlySet<string>;
}

// As grokmirror: each glob as given, then with its leading slashes removed (the key keeps its own).
function included(key: string, globs: readonly string[]): boolean {
  return matchesAny(key, globs) || matchesAny(key, globs.map((g) => g.replace(/^\/+/, '')));
}

/** Why a bundle directory can never be used, or null. */
function layoutProblem(dir: string): string | null {
  if (dir === '') return 'names no bundle directory';
  const own = dir.split('/').find(ownFileName);
  return own === undefined ? null : `its bundle directory ${JSON.stringify(dir)} has a part named ${JSON.stringify(own)}, a name grok-bundle's own files use`;
}

/** `recordedOwner`: the repository a directory's record says its bundle is of (null when none says). */
export function planBundles(keys: Iterable<string>, include: readonly string[], recordedOwner: (dir: string) => string | null = () => null): BundlePlan {
  const byDir = new Map<string, string[]>();
  for (const key of [...keys].sort()) {
    const dir = bundleDirFor(key);
    byDir.set(dir, [...(byDir.get(dir) ?? []), key]);
  }
  const targets: BundleTarget[] = [];
  const refused: { key: string; why: string }[] = [];
  const owned = new Set<string>();
  for (const [dir, group] of byDir) {
    const problem = layoutProblem(dir);
    const recorded = problem === null ? recordedOwner(dir) : null;
    const owner = problem !== null ? null : recorded !== null && group.includes(recorded) ? recorded : group[0]!;
    if (owner !== null) owned.add(dir);
    for (const key of group) {
      if (!included(key, include)) continue;
      if (key === owner) targets.push({ key, dir });
      else refused.push({ key, why: problem ?? `its bundle directory ${JSON.stringify(dir)} is ${owner}'s` });
    }
  }
  targets.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  refused.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { targets, refused, owned };
}

/** Bundle directories on disk that no repository of the manifest owns. */
export function staleBundleDirs(onDisk: Iterable<string>, owned: ReadonlySet<string>): string[] {
  return [...onDisk].filter((d) => !owned.has(d)).sort();
}
