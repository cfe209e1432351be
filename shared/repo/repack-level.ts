/**
 * Whether a repository is worth repacking, from `git count-objects -v` (grokmirror's thresholds, see
 * docs/architecture.md "grok-fsck"): full when there are 20 packs or more; quick when there are 1200 loose objects or
 * more, or more than 500 objects with at least 10% of them loose, or more than 1 MiB with at least
 * 10% of the size loose; otherwise none. Pure.
 */
export type RepackLevel = 'none' | 'quick' | 'full';

export interface ObjectCounts {
  /** Loose objects, and their size in KiB (git's units). */
  readonly count: number;
  readonly size: number;
  readonly inPack: number;
  readonly packs: number;
  readonly sizePack: number;
}

export function parseCountObjects(out: string): ObjectCounts {
  const v: Record<string, number> = {};
  for (const line of out.split('\n')) {
    const [k, n] = line.split(':').map((s) => s.trim());
    if (k && n !== undefined) v[k] = Number(n);
  }
  return { count: v.count ?? 0, size: v.size ?? 0, inPack: v['in-pack'] ?? 0, packs: v.packs ?? 0, sizePack: v['size-pack'] ?? 0 };
}

export function repackLevel(c: ObjectCounts): RepackLevel {
  if (c.packs >= 20) return 'full';
  if (c.count >= 1200) return 'quick';
  const objects = c.count + c.inPack;
  if (objects > 500 && (c.count * 100) / objects >= 10) return 'quick';
  const size = c.size + c.sizePack;
  if (size > 1024 && (c.size * 100) / size >= 10) return 'quick';
  return 'none';
}
