/**
 * "Did you mean": the known name one edit away from an unknown one. One edit is one inserted, deleted
 * or replaced character, or two neighbours swapped (`[pul]`, `[Pull]`, `[plul]` for `[pull]`); a
 * name that close to a known one is a typo whose setting would otherwise be silently lost. Names
 * further away stay warnings: they are a newer grokmirror's, or a site's own.
 */

/** Optimal string alignment distance, stopping early once it is past `max` (returns max + 1 then). */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      row.push(d);
      best = Math.min(best, d);
    }
    if (best > max) return max + 1;
    prev2 = prev;
    prev = row;
  }
  return prev[b.length]!;
}

/** The first of `known` (in its order) one edit away from `name`, or null. */
export function oneEditAway(name: string, known: Iterable<string>): string | null {
  for (const k of known) if (k !== name && editDistance(name, k, 1) === 1) return k;
  return null;
}
