/**
 * The synthetic upstream's plan (synthetic-upstream.ts), shared with the benchmark that seeds and
 * checks against it. Pure. URL path n is `/g/<n / 1000>/<n>.git` (a thousand per directory, as a
 * forge's namespaces spread them). Each path advertises the refs of one of `templates` real
 * repositories (n mod templates) as of a version: 1 until the path first changes, then the round of
 * its last change. Which paths change in round r (r >= 2) is a hash of (n, r) under `fraction`, so
 * every process computes the same set without a table.
 */
export interface SyntheticPlan {
  readonly templates: number;
  /** Share of the paths that change in each round from 2 on. */
  readonly fraction: number;
}

export const pathOf = (n: number): string => `/g/${Math.floor(n / 1000)}/${n}.git`;

/** n of a path `/g/<b>/<n>.git` (followed by anything), or null. */
export function numberOf(urlPath: string): number | null {
  const m = /^\/g\/(\d+)\/(\d+)\.git(?:\/|$)/.exec(urlPath);
  if (!m) return null;
  const n = Number(m[2]);
  return Math.floor(n / 1000) === Number(m[1]) ? n : null;
}

/** A 32-bit mix of (n, r): murmur3's finaliser. */
function mix(n: number, r: number): number {
  let h = Math.imul(n ^ Math.imul(r, 0x9e3779b9), 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export function changedIn(p: SyntheticPlan, n: number, round: number): boolean {
  return round >= 2 && mix(n, round) < p.fraction * 2 ** 32;
}

/** The version path n advertises in `round`: the round of its last change, 1 before any. */
export function versionOf(p: SyntheticPlan, n: number, round: number): number {
  for (let r = round; r >= 2; r--) if (changedIn(p, n, r)) return r;
  return 1;
}

export const templateOf = (p: SyntheticPlan, n: number): number => n % p.templates;

/** Backing repository of (version, template), relative to the backing directory. */
export const backingRepo = (version: number, template: number): string => `v${version}/t${template}.git`;
