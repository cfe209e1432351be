/**
 * Seeded randomness for the reliability tests: the same seed gives the same kill moments and the same
 * changes, so a failure can be replayed. GROK_SEED overrides a test's fixed default.
 */
export function seedFor(fallback: number): number {
  const env = process.env.GROK_SEED;
  return env && /^\d+$/.test(env) ? Number(env) >>> 0 : fallback >>> 0;
}

/** mulberry32: small, fast, good enough to pick moments and repositories. Returns [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` moments spread over `[0, span)`: one at a random place inside each of n equal slices. */
export function spreadMoments(random: () => number, n: number, span: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.round(((i + random()) / n) * span));
}

export function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}
