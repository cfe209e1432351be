/**
 * The hook case on a large manifest: update a few named repositories without parsing or
 * re-serialising the untouched entries. A compact gzip file in the sliced form
 * (shared/manifest/sliced.ts) has the slices holding the named keys inflated, checked, changed and
 * recompressed, the other members copied as they are: the cost does not grow with the manifest. Any
 * other file is scanned (checked to be valid JSON with every key safe, shared/manifest/scan.ts) and
 * has the named entries spliced in; a compact gzip one is then written in the sliced form, so the
 * next update takes the first way. Returns null whenever the general path is needed (no manifest
 * yet, an empty one, removals, symlinks, duplicate keys, a damaged entry, a slice count outgrown).
 */
import { readFile } from 'node:fs/promises';
import { atomicWrite } from '../../shared/fs/atomic.js';
import type { Logger } from '../../shared/log.js';
import { entryProblem, normaliseEntry, type ManifestEntry } from '../../shared/manifest/entry.js';
import { gunzipCapped } from '../../shared/manifest/inflate.js';
import { isGzipName, manifestBytes, parseManifestText } from '../../shared/manifest/io.js';
import { keyProblem } from '../../shared/manifest/keys.js';
import { scanManifest, type EntrySpan, type ScanResult } from '../../shared/manifest/scan.js';
import { assemble, inflateSlice, outgrown, readLayout, sliceCountFor, compressSlices, sliceMember, sliceOf, sliceText, type SlicedLayout } from '../../shared/manifest/sliced.js';
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

type Counts = { -readonly [K in Exclude<keyof FastUpdateResult, 'written' | 'total'>]: FastUpdateResult[K] };

/** The targets' new entries against their old ones; null when the general path must do it. */
async function changesFor(
  targets: readonly Target[],
  outcomes: ReadonlyMap<string, Outcome>,
  olds: ReadonlyMap<string, ManifestEntry>,
  ctx: FastUpdateContext,
): Promise<{ res: Counts; changes: Map<string, ManifestEntry> } | null> {
  const res: Counts = { added: [], updated: [], unchanged: 0, failed: [] };
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
  return { res, changes };
}

function logged(res: Counts, log: Logger): void {
  for (const k of res.added) log.info({ repo: k, action: 'add' }, `added ${k}`);
  for (const k of res.updated) log.info({ repo: k, action: 'update' }, `updated ${k}`);
}

/** The sliced form: only the slices holding the named keys are inflated and recompressed. */
async function slicedUpdate(raw: Buffer, layout: SlicedLayout, targets: readonly Target[], outcomes: ReadonlyMap<string, Outcome>, ctx: FastUpdateContext): Promise<FastUpdateResult | null> {
  const touched = new Map<number, Map<string, ManifestEntry>>();
  for (const t of targets) {
    const i = sliceOf(t.key, layout.count);
    if (touched.has(i)) continue;
    const ref = layout.slices.get(i);
    if (!ref) {
      touched.set(i, new Map());
      continue;
    }
    const parsed = parseManifestText(`{${inflateSlice(raw, ref, ctx.maxBytes, ctx.file)}}`, ctx.file);
    // A damaged entry in the slice, or a header that miscounts it: the general path sorts it out.
    if (parsed.rejected.length > 0 || parsed.entries.size !== ref.entries) return null;
    touched.set(i, parsed.entries);
  }
  const olds = new Map<string, ManifestEntry>();
  for (const t of targets) {
    const old = touched.get(sliceOf(t.key, layout.count))!.get(t.key);
    if (old) olds.set(t.key, old);
  }
  const found = await changesFor(targets, outcomes, olds, ctx);
  if (!found) return null;
  const { res, changes } = found;
  const total = layout.entries + res.added.length;
  if (changes.size === 0) return { ...res, written: false, total: layout.entries };
  if (outgrown(total, layout.count)) return null;
  const members = new Map<number, Buffer>();
  for (const [key, entry] of changes) touched.get(sliceOf(key, layout.count))!.set(key, entry);
  for (const [i, entries] of touched) if (entries.size > 0) members.set(i, sliceMember(sliceText(entries), i, layout.count, entries.size));
  const order = [...new Set([...layout.slices.keys(), ...members.keys()])].sort((a, b) => a - b);
  const slices = order.map((i) => members.get(i) ?? raw.subarray(layout.slices.get(i)!.start, layout.slices.get(i)!.end));
  await atomicWrite(ctx.file, Buffer.concat(assemble(slices)));
  logged(res, ctx.log);
  return { ...res, written: true, total };
}

/**
 * A scanned compact manifest with `changes` applied, in the sliced form, built by copying the
 * entries' bytes into one buffer per slice (no string per entry: at 100k entries those cost more in
 * garbage collection than the copying).
 */
async function slicedFromScan(bytes: Buffer, scan: ScanResult, changes: ReadonlyMap<string, ManifestEntry>): Promise<Buffer> {
  const added = [...changes].map(([k, e]) => ({ key: k, text: Buffer.from(sliceText([[k, e]]), 'utf8') }));
  // The count is only the layout's: a key listed twice makes it a little larger, which is harmless.
  const count = sliceCountFor(scan.spans.length + added.length);
  const slot = new Uint16Array(scan.spans.length);
  const lens = new Uint32Array(count);
  const entries = new Uint32Array(count);
  scan.spans.forEach((s, n) => {
    if (changes.has(s.key)) return;
    const i = (slot[n] = sliceOf(s.key, count));
    lens[i] = lens[i]! + s.valueEnd - s.keyStart + 1;
    entries[i] = entries[i]! + 1;
  });
  for (const a of added) {
    const i = sliceOf(a.key, count);
    lens[i] = lens[i]! + a.text.length + 1;
    entries[i] = entries[i]! + 1;
  }
  const bufs = Array.from(lens, (n) => Buffer.allocUnsafe(Math.max(0, n - 1)));
  const at = new Uint32Array(count);
  const put = (i: number, src: Buffer, start: number, end: number) => {
    const b = bufs[i]!;
    let pos = at[i]!;
    if (pos > 0) b[pos++] = 0x2c;
    b.set(src.subarray(start, end), pos);
    at[i] = pos + end - start;
  };
  scan.spans.forEach((s, n) => changes.has(s.key) || put(slot[n]!, bytes, s.keyStart, s.valueEnd));
  for (const a of added) put(sliceOf(a.key, count), a.text, 0, a.text.length);
  const members = await compressSlices(bufs, (_, i) => entries[i]!, (b) => b);
  return Buffer.concat(assemble(members));
}

export async function fastUpdate(targets: readonly Target[], outcomes: ReadonlyMap<string, Outcome>, ctx: FastUpdateContext): Promise<FastUpdateResult | null> {
  const raw = await readFile(ctx.file).catch(() => null);
  if (!raw) return null;
  const gz = isGzipName(ctx.file);
  if (gz && !ctx.pretty) {
    const layout = readLayout(raw);
    if (layout) return slicedUpdate(raw, layout, targets, outcomes, ctx);
  }
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
  const olds = new Map<string, ManifestEntry>();
  for (const t of targets) {
    const span = spans.get(t.key);
    if (!span) continue;
    const value: unknown = JSON.parse(bytes.toString('utf8', span.valueStart, span.valueEnd));
    if (entryProblem(value) !== null) return null;
    olds.set(t.key, normaliseEntry(value as Record<string, unknown>));
  }
  const found = await changesFor(targets, outcomes, olds, ctx);
  if (!found) return null;
  const { res, changes } = found;
  const total = scan.spans.length;
  if (changes.size === 0) return { ...res, written: false, total };
  if (gz && !pretty) await atomicWrite(ctx.file, await slicedFromScan(bytes, scan, changes));
  else {
    const next = spliceEntries(bytes, scan, changes, pretty);
    if (!next) return null;
    await atomicWrite(ctx.file, await manifestBytes(ctx.file, next));
  }
  logged(res, ctx.log);
  return { ...res, written: true, total: total + res.added.length };
}
