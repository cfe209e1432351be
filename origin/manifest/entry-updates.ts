/**
 * From inspection outcomes to entry changes, the rule every writer of the manifest shares
 * (grok-manifest's full and fast paths, grok-origin's notify queue): build each entry afresh, say
 * whether it was added, updated or unchanged, drop repositories that lost all their refs, and
 * report the ones that could not be read.
 */
import type { Logger } from '../../shared/log.js';
import { sameEntry, type ManifestEntry } from '../../shared/manifest/entry.js';
import { buildEntry } from './entry-builder.js';
import type { Outcome } from './inspect-targets.js';
import type { Target } from './plan.js';

export type EntryUpdate =
  | { readonly key: string; readonly kind: 'added' | 'updated' | 'unchanged'; readonly entry: ManifestEntry }
  | { readonly key: string; readonly kind: 'no-refs'; readonly existed: boolean }
  | { readonly key: string; readonly kind: 'failed'; readonly path: string; readonly error: string };

export interface UpdateContext {
  readonly toplevel: string;
  readonly useNow: boolean;
  readonly nowSec: number;
  readonly log: Logger;
  readonly oldEntry: (key: string) => ManifestEntry | undefined;
  readonly symlinksFor: (t: Target, old: ManifestEntry | undefined) => Promise<readonly string[]>;
}

export async function entryUpdates(targets: readonly Target[], outcomes: ReadonlyMap<string, Outcome>, ctx: UpdateContext): Promise<EntryUpdate[]> {
  const out: EntryUpdate[] = [];
  for (const t of targets) {
    const o = outcomes.get(t.key);
    if (o === undefined) continue;
    if (o !== null && 'failed' in o) {
      ctx.log.error({ repo: t.key }, `${t.key}: ${o.failed}`);
      out.push({ key: t.key, kind: 'failed', path: t.path, error: o.failed });
      continue;
    }
    const old = ctx.oldEntry(t.key);
    if (o === null) {
      if (!old) ctx.log.info({ repo: t.key }, `${t.key}: no refs; not listed`);
      out.push({ key: t.key, kind: 'no-refs', existed: old !== undefined });
      continue;
    }
    const symlinks = await ctx.symlinksFor(t, old);
    const built = buildEntry(o, { toplevel: ctx.toplevel, key: t.key, old, useNow: ctx.useNow, now: ctx.nowSec, symlinks });
    for (const n of built.notes) ctx.log.warn({ repo: t.key }, `${t.key}: ${n}`);
    const kind = !old ? 'added' : sameEntry(old, built.entry) ? 'unchanged' : 'updated';
    out.push({ key: t.key, kind, entry: built.entry });
  }
  return out;
}
