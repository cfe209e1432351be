/**
 * Pure rules that turn what we read from a repository into its manifest entry, and that keep
 * entries consistent with each other (symlinks, references). No I/O here; tests use plain tables.
 */
import path from 'node:path';
import { clampModified, cutUtf8, MAX_TEXT_BYTES, type Manifest, type ManifestEntry } from '../../shared/manifest/entry.js';
import { isUnder, pathToKey } from '../../shared/manifest/keys.js';
import type { RepoFacts } from '../../shared/repo/inspect.js';

export interface EntryContext {
  readonly toplevel: string;
  readonly key: string;
  /** The entry as the manifest had it before, if any. */
  readonly old?: ManifestEntry;
  /** `-n`: use the current time instead of the newest commit. */
  readonly useNow: boolean;
  /** Current time, epoch seconds. */
  readonly now: number;
  /** Symlink keys that point at this repo. */
  readonly symlinks: readonly string[];
}

export interface BuiltEntry {
  readonly entry: ManifestEntry;
  readonly notes: readonly string[];
}

function keyIfUnder(toplevel: string, full: string): string | null {
  return isUnder(toplevel, full) && full !== toplevel ? pathToKey(toplevel, full) : null;
}

/**
 * Builds the entry from scratch (every field recomputed: a description, owner or forkgroup that went
 * away goes away). `reference` follows grokmirror: for objstore members it keeps its stored value while
 * the forkgroup is unchanged, and otherwise names the objstore's first member (null for that member
 * itself); for a plain alternates repo it names the repo borrowed from.
 */
export function buildEntry(facts: RepoFacts, ctx: EntryContext): BuiltEntry {
  const notes: string[] = [];
  const alt = facts.alternate;
  let forkgroup: string | undefined;
  let reference: string | null = null;
  if (alt?.objstoreMembers) {
    forkgroup = path.basename(alt.repo).replace(/\.git$/, '');
    if (ctx.old && ctx.old.forkgroup === forkgroup) {
      reference = ctx.old.reference ?? null;
    } else {
      const first = alt.objstoreMembers.map((m) => keyIfUnder(ctx.toplevel, m)).find((k): k is string => k !== null);
      reference = first && first !== ctx.key ? first : null;
    }
  } else if (alt) {
    reference = keyIfUnder(ctx.toplevel, alt.repo);
    if (reference === null) notes.push(`borrows objects from ${alt.repo}, outside the toplevel; reference left empty`);
  }
  const newest = ctx.useNow || facts.refs.newest === null ? ctx.now : facts.refs.newest;
  const modified = clampModified(newest);
  if (modified !== newest) notes.push(`its newest commit is dated ${newest}, past the year 9999; "modified" says ${modified} (9999-12-31 23:59:59 UTC)`);
  const entry: ManifestEntry = { modified, fingerprint: facts.refs.fingerprint, head: facts.head, reference };
  // What we list, every reader takes: both are data of any text, cut at the size readers accept.
  const owner = facts.owner?.replaceAll('\u0000', '');
  const description = facts.description;
  if (owner) entry.owner = fitText(owner, 'gitweb.owner', notes);
  if (description) entry.description = fitText(description, 'description', notes);
  if (forkgroup) entry.forkgroup = forkgroup;
  if (ctx.symlinks.length > 0) entry.symlinks = [...ctx.symlinks].sort();
  if (facts.archived) entry.archived = true;
  // A partial clone's upload-pack cannot serve every object: the next tier clones it partial too.
  if (facts.partial !== undefined && facts.partial !== null) entry.partial = facts.partial;
  return { entry, notes };
}

function fitText(text: string, what: string, notes: string[]): string {
  const cut = cutUtf8(text, MAX_TEXT_BYTES);
  if (cut !== text) notes.push(`its ${what} is longer than ${MAX_TEXT_BYTES} bytes; listed cut to that`);
  return cut;
}

/** A reference that names a symlink is rewritten to the symlink's target. */
export function resolveSymlinkReferences(manifest: Manifest): void {
  const targetOf = new Map<string, string>();
  for (const [key, e] of manifest) for (const s of e.symlinks ?? []) targetOf.set(s, key);
  if (targetOf.size === 0) return;
  for (const e of manifest.values()) {
    const t = e.reference ? targetOf.get(e.reference) : undefined;
    if (t) e.reference = t;
  }
}

/**
 * Removes entries and every mention of them in other entries' symlinks. Returns the keys removed and
 * whether anything at all changed (dropping only a symlink mention is a change too).
 */
export function removeEntries(manifest: Manifest, keys: Iterable<string>): { removed: string[]; changed: boolean } {
  const removed: string[] = [];
  let changed = false;
  const gone = new Set<string>();
  for (const k of keys) {
    if (manifest.delete(k)) removed.push(k);
    gone.add(k);
  }
  for (const e of manifest.values()) {
    if (!e.symlinks) continue;
    const kept = e.symlinks.filter((s) => !gone.has(s));
    if (kept.length === e.symlinks.length) continue;
    changed = true;
    if (kept.length === 0) delete e.symlinks;
    else e.symlinks = kept;
  }
  return { removed, changed: changed || removed.length > 0 };
}
