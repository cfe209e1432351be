/**
 * The hook case on a large manifest: update a few named repositories by splicing their entries
 * into the manifest's bytes (shared/manifest/splice.ts). The document is still checked to be valid
 * JSON and every key to be safe, but untouched entries are neither parsed nor re-serialised, which
 * is what made a single update cost ~0.8 s at 100k entries. Returns null whenever the general path
 * is needed (no manifest yet, an empty one, removals, symlinks, duplicate keys, a damaged entry).
 */
import { readFile } from 'node:fs/promises';
import { atomicWrite } from '../../shared/fs/atomic.js';
import type { Logger } from '../../shared/log.js';
import { entryProblem, normaliseEntry, type ManifestEntry } from '../../shared/manifest/entry.js';
import { gunzipCapped } from '../../shared/manifest/inflate.js';
import { isGzipName, manifestBytes } from '../../shared/manifest/io.js';
import { keyProblem } from '../../shared/manifest/keys.js';
import { scanManifest, type EntrySpan } from '../../shared/manifest/scan.js';
import { looksPretty, spliceEntries } from '../../shared/manifest/splice.js';
import { entryUpdates } from './entry-updates.js';
import type { Outcome } from './inspect-targets.js';
import type { Target } from './plan.js';

export interface FastUpdateContext {
  readonly file: string;
  readonly maxBytes: number;
  readonly pretty: boolean;
  readonly toplevel: string;
  readonly useNow: boolean;
  readonly nowSec: number;
  readonly log: Logger;
  /** Symlinks an entry keeps: the old ones that still point at it (run.ts decides). */
  readonly symlinksFor: (t: Target, old: ManifestEntry | undefined) => Promise<readonly string[]>;
}

export interface FastUpdateResult {
  readonly added: string[];
  readonly updated: string[];
  readonly unchanged: number;
  readonly failed: { path: string; error: string }[];
  readonly written: boolean;
  readonly total: number;
}

export async function fastUpdate(targets: readonly Target[], outcomes: ReadonlyMap<string, Outcome>, ctx: FastUpdateContext): Promise<FastUpdateResult | null> {
  const raw = await readFile(ctx.file).catch(() => null);
  if (!raw) return null;
  const gz = isGzipName(ctx.file);
  const bytes = gz ? gunzipCapped(raw, ctx.maxBytes, ctx.file) : raw;
  const pretty = looksPretty(bytes);
  if (pretty !== ctx.pretty) return null;
  const scan = scanManifest(bytes, ctx.file);
  if (scan.spans.length === 0 || scan.spans.some((s) => keyProblem(s.key) !== null)) return null;
  // Only the named keys are looked up (no map of 100k keys); a named key listed twice takes the
  // general path. Other duplicates are left as they are (JSON readers keep the last one).
  const wanted = new Set(targets.map((t) => t.key));
  const spans = new Map<string, EntrySpan>();
  for (const s of scan.spans) {
    if (!wanted.has(s.key)) continue;
    if (spans.has(s.key)) return null;
    spans.set(s.key, s);
  }

  const total = scan.spans.length;
  const res = { added: [] as string[], updated: [] as string[], unchanged: 0, failed: [] as FastUpdateResult['failed'], written: false, total };
  const olds = new Map<string, ManifestEntry>();
  for (const t of targets) {
    const span = spans.get(t.key);
    if (!span) continue;
    const value: unknown = JSON.parse(bytes.toString('utf8', span.valueStart, span.valueEnd));
    if (entryProblem(value) !== null) return null;
    olds.set(t.key, normaliseEntry(value as Record<string, unknown>));
  }
  const updates = await entryUpdates(targets, outcomes, {
    toplevel: ctx.toplevel,
    useNow: ctx.useNow,
    nowSec: ctx.nowSec,
    log: ctx.log,
    oldEntry: (key) => olds.get(key),
    symlinksFor: ctx.symlinksFor,
  });
  const changes = new Map<string, ManifestEntry>();
  for (const u of updates) {
    // A repository without refs has to leave the manifest: the general path does removals.
    if (u.kind === 'no-refs') return null;
    if (u.kind === 'failed') res.failed.push({ path: u.path, error: u.error });
    else if (u.kind === 'unchanged') res.unchanged++;
    else {
      changes.set(u.key, u.entry);
      res[u.kind].push(u.key);
    }
  }
  if (changes.size === 0) return res;
  const next = spliceEntries(bytes, scan, changes, pretty);
  if (!next) return null;
  await atomicWrite(ctx.file, await manifestBytes(ctx.file, next));
  for (const k of res.added) ctx.log.info({ repo: k, action: 'add' }, `added ${k}`);
  for (const k of res.updated) ctx.log.info({ repo: k, action: 'update' }, `updated ${k}`);
  return { ...res, written: true, total: total + res.added.length };
}
