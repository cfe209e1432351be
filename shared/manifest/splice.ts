/**
 * Replaces, adds or keeps top-level entries of a manifest's bytes without touching the others,
 * using the spans from scan.ts. Replacement text follows the file's own layout: pretty files get
 * indented, key-sorted entries; compact files get compact ones appended before the closing brace.
 */
import { sortedEntry, type ManifestEntry } from './entry.js';
import type { ScanResult } from './scan.js';

export type EntryChanges = ReadonlyMap<string, ManifestEntry>;

function entryText(e: ManifestEntry, pretty: boolean): string {
  return pretty ? JSON.stringify(sortedEntry(e), null, 2).replace(/\n/g, '\n  ') : JSON.stringify(e);
}

/** True when the bytes look like grok-manifest -y / json.dumps(indent=2) output. */
export function looksPretty(b: Buffer): boolean {
  return b.length > 2 && b[0] === 0x7b && b[1] === 0x0a;
}

/**
 * Applies the changes. Pretty files only take replacements (a new key would need a sorted place;
 * the caller falls back to a full rewrite), so this returns null when asked to add to a pretty file.
 */
export function spliceEntries(b: Buffer, scan: ScanResult, changes: EntryChanges, pretty: boolean): Buffer | null {
  const replaced = scan.spans.filter((s) => changes.has(s.key));
  const present = new Set(replaced.map((s) => s.key));
  const added = [...changes.keys()].filter((k) => !present.has(k));
  if (pretty && added.length > 0) return null;
  const parts: Buffer[] = [];
  let pos = 0;
  for (const s of replaced) {
    parts.push(b.subarray(pos, s.valueStart), Buffer.from(entryText(changes.get(s.key)!, pretty), 'utf8'));
    pos = s.valueEnd;
  }
  if (added.length > 0) {
    parts.push(b.subarray(pos, scan.closeBrace));
    const sep = scan.spans.length > 0 ? ',' : '';
    parts.push(Buffer.from(sep + added.map((k) => `${JSON.stringify(k)}:${entryText(changes.get(k)!, false)}`).join(','), 'utf8'));
    pos = scan.closeBrace;
  }
  parts.push(b.subarray(pos));
  return Buffer.concat(parts);
}
