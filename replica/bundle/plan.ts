/**
 * Which repositories grok-bundle bundles, decided purely from the manifest's keys and the -i globs,
 * and which bundles on disk no longer belong to any repository of the manifest.
 */
import { matchesAny } from '../../shared/glob.js';
import { bundleDirFor } from '../../shared/bundle-layout.js';

export interface BundleTarget {
  readonly key: string;
  /** Relative to the outdir (shared/bundle-layout.ts). */
  readonly dir: string;
}

export interface BundlePlan {
  readonly targets: readonly BundleTarget[];
  /** Keys that are left out because an earlier key maps to the same bundle directory (`/a` and `/a.git`). */
  readonly collisions: readonly { readonly key: string; readonly with: string }[];
}

// As grokmirror: each glob as given, then with its leading slashes removed (the key keeps its own).
function included(key: string, globs: readonly string[]): boolean {
  return matchesAny(key, globs) || matchesAny(key, globs.map((g) => g.replace(/^\/+/, '')));
}

export function planBundles(keys: Iterable<string>, include: readonly string[]): BundlePlan {
  const targets: BundleTarget[] = [];
  const collisions: { key: string; with: string }[] = [];
  const owner = new Map<string, string>();
  for (const key of [...keys].sort()) {
    const dir = bundleDirFor(key);
    const prev = owner.get(dir);
    if (prev !== undefined) {
      if (included(key, include)) collisions.push({ key, with: prev });
      continue;
    }
    owner.set(dir, key);
    if (included(key, include)) targets.push({ key, dir });
  }
  return { targets, collisions };
}

/**
 * Bundle directories on disk whose repository left the manifest. Every manifest key counts, matched
 * by -i or not: other grok-bundle runs with other -i globs may share the outdir.
 */
export function staleBundleDirs(onDisk: Iterable<string>, keys: Iterable<string>): string[] {
  const wanted = new Set<string>();
  for (const k of keys) wanted.add(bundleDirFor(k));
  return [...onDisk].filter((d) => !wanted.has(d)).sort();
}
