/**
 * One manifest entry, the grokmirror 2.x format (docs/architecture.md "The manifest"), and the checks every entry
 * read from a file or the network goes through. Unknown keys are kept as they are, so a newer writer's
 * additions survive a round trip; known keys must have their documented types. `owner` and
 * `description` are data (any text, as grokmirror takes them): bounded in size, never judged by
 * their characters, and escaped wherever they are printed.
 */
import { partialFilterProblem } from '../git/partial-filter.js';
import { keyProblem } from './keys.js';

export interface ManifestEntry {
  modified: number;
  fingerprint: string;
  head: string | null;
  reference: string | null;
  owner?: string;
  description?: string;
  forkgroup?: string;
  symlinks?: string[];
  /**
   * Ours: a retired repository, still served, no longer fetched by replicas. Only ever written as
   * `true` (absent otherwise), so entries of live repositories stay byte-identical to grokmirror's.
   */
  archived?: true;
  /**
   * Ours: the repository is a partial clone (its missing objects are fetched from its own upstream on
   * demand), so its upload-pack cannot serve every object. The filter it was made with, or `true` when
   * that is unknown; absent for a complete repository. A next tier clones such an entry partial too.
   */
  partial?: string | true;
  /** Keys we do not know are carried along untouched. */
  [extra: string]: unknown;
}

export type Manifest = Map<string, ManifestEntry>;

export const EMPTY_FINGERPRINT = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';
const FINGERPRINT_RE = /^[0-9a-f]{40}$/;
const SHA_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const FORKGROUP_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;
const CONTROL_RE = /[\u0000-\u001f\u007f]/;
const KNOWN_KEYS = new Set(['modified', 'fingerprint', 'head', 'reference', 'owner', 'description', 'forkgroup', 'symlinks', 'archived']);
/** Deeper than this, an unknown value is refused: JSON.stringify recurses, and a deep enough value overflows its stack. */
const MAX_UNKNOWN_DEPTH = 32;
/** All of one entry's unknown keys and values together, in characters of JSON: carried to every tier, so bounded. */
export const MAX_UNKNOWN_BYTES = 64 * 1024;
/** Longest `owner` or `description`, in UTF-8 bytes; our own writers cut longer ones to this. */
export const MAX_TEXT_BYTES = 64 * 1024;
/**
 * The last `modified` shown as a date: 9999-12-31 23:59:59 UTC, the last second with a four-digit
 * year (cgit's last-modified, ISO dates). A JavaScript Date stops at 8.64e12 s, so a commit dated
 * 99999999999999 made "Invalid time value" there.
 */
export const MAX_MODIFIED = 253_402_300_799;
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Bytes of `s` in UTF-8, computed only when it could exceed `max` (3 bytes per UTF-16 unit at most). */
function utf8Over(s: string, max: number): boolean {
  return s.length * 3 > max && Buffer.byteLength(s, 'utf8') > max;
}

/** `s` cut to at most `max` UTF-8 bytes, never inside a character. */
export function cutUtf8(s: string, max: number): string {
  if (!utf8Over(s, max)) return s;
  const b = Buffer.from(s, 'utf8');
  let end = max;
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
  return b.toString('utf8', 0, end);
}

/** Why an owner or description cannot be taken, or null. */
function textProblem(name: 'owner' | 'description', v: unknown): string | null {
  const what = `${name === 'owner' ? 'an' : 'a'} "${name}"`;
  if (typeof v !== 'string') return `has ${what} that is not a string`;
  if (utf8Over(v, MAX_TEXT_BYTES)) return `has ${what} longer than ${MAX_TEXT_BYTES} bytes`;
  // gitweb.owner goes to git config as an argument, and no argument can hold a NUL.
  if (name === 'owner' && v.includes('\u0000')) return 'has an "owner" holding a NUL, which git config cannot store';
  return null;
}

/** Why the entry's unknown keys cannot be carried along, or null: too deep to write back, or too large. */
function unknownProblem(e: Record<string, unknown>): string | null {
  let bytes = 0;
  for (const k in e) {
    if (KNOWN_KEYS.has(k)) continue;
    const v = e[k];
    if (typeof v === 'object' && v !== null && nestsDeeper(v, MAX_UNKNOWN_DEPTH)) {
      return `has a value under ${JSON.stringify(k.slice(0, 64))} nested more than ${MAX_UNKNOWN_DEPTH} levels deep`;
    }
    // As written back: `"key":value`, the separating comma left out.
    bytes += JSON.stringify(k).length + 1 + (JSON.stringify(v) ?? 'null').length;
    if (bytes > MAX_UNKNOWN_BYTES) return `has unknown keys taking more than ${MAX_UNKNOWN_BYTES} characters of JSON`;
  }
  return null;
}

/** Whether a JSON value nests deeper than `max` (counted with a stack of our own, not recursion). */
function nestsDeeper(value: unknown, max: number): boolean {
  const todo: [unknown, number][] = [[value, 1]];
  for (let item = todo.pop(); item; item = todo.pop()) {
    const [v, depth] = item;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > max) return true;
    for (const child of Object.values(v)) if (typeof child === 'object' && child !== null) todo.push([child, depth + 1]);
  }
  return false;
}

/** A ref name git would accept as a HEAD target (git check-ref-format rules, the ones that matter). */
export function refNameProblem(ref: string): string | null {
  if (!ref.startsWith('refs/')) return 'does not start with refs/';
  if (ref.length > 1024) return 'is too long';
  if (CONTROL_RE.test(ref) || /[ ~^:?*[\\]/.test(ref)) return 'contains a character git forbids in ref names';
  if (ref.includes('..') || ref.includes('@{') || ref.includes('//')) return 'contains "..", "@{" or "//"';
  if (ref.endsWith('/') || ref.endsWith('.') || ref.endsWith('.lock')) return 'ends with "/", "." or ".lock"';
  if (ref.split('/').some((c) => c.startsWith('.'))) return 'has a component starting with "."';
  return null;
}

// A 100k-entry manifest holds a handful of distinct HEAD values; remember the verdicts.
const headVerdicts = new Map<string, string | null>();

export function headProblem(head: unknown): string | null {
  if (head === null) return null;
  if (typeof head !== 'string') return 'is not a string or null';
  const known = headVerdicts.get(head);
  if (known !== undefined) return known;
  let why: string | null = null;
  if (!SHA_RE.test(head)) {
    if (!head.startsWith('ref: ')) why = 'is neither "ref: refs/..." nor an object id';
    else {
      const ref = refNameProblem(head.slice(5));
      why = ref ? `names a ref that ${ref}` : null;
    }
  }
  if (headVerdicts.size > 10_000) headVerdicts.clear();
  headVerdicts.set(head, why);
  return why;
}

/** Why an entry is unusable, or null. `key` is only used in messages. */
export function entryProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'is not an object';
  const e = value as Record<string, unknown>;
  if (typeof e.fingerprint !== 'string') return e.fingerprint === undefined ? 'has no fingerprint' : 'has a fingerprint that is not a string';
  if (!FINGERPRINT_RE.test(e.fingerprint)) return 'has a fingerprint that is not 40 hex digits';
  // Beyond MAX_MODIFIED is taken (grokmirror writes whatever a commit says) and clamped where shown as a date.
  if (typeof e.modified !== 'number' || !Number.isFinite(e.modified) || e.modified < 0) return 'has a "modified" that is not a non-negative number';
  const head = headProblem(e.head ?? null);
  if (head) return `has a "head" that ${head}`;
  if (e.reference !== undefined && e.reference !== null) {
    const why = keyProblem(e.reference);
    if (why) return `has a "reference" that ${why}`;
  }
  const text = (e.owner !== undefined ? textProblem('owner', e.owner) : null) ?? (e.description !== undefined ? textProblem('description', e.description) : null);
  if (text) return text;
  if (e.forkgroup !== undefined && e.forkgroup !== null && (typeof e.forkgroup !== 'string' || !FORKGROUP_RE.test(e.forkgroup))) {
    return 'has a "forkgroup" that is not a plain name';
  }
  // Unknown keys are carried along and written back, so what they hold must be writable and small.
  const unknown = unknownProblem(e);
  if (unknown) return unknown;
  if (e.symlinks !== undefined) {
    if (!Array.isArray(e.symlinks)) return 'has "symlinks" that is not a list';
    for (const s of e.symlinks) {
      const why = keyProblem(s);
      if (why) return `has a symlink ${JSON.stringify(s)} that ${why}`;
    }
  }
  if (e.archived !== undefined && typeof e.archived !== 'boolean') return 'has an "archived" that is not true or false';
  // A filter reaches `git clone --filter=` on the next tier: only the forms we pass ourselves.
  if (e.partial !== undefined && typeof e.partial !== 'boolean' && (typeof e.partial !== 'string' || partialFilterProblem(e.partial) !== null)) {
    return 'has a "partial" that is neither true, false nor a filter (blob:none, blob:limit=<n>, tree:<depth>)';
  }
  return null;
}

/**
 * A copy with keys in sorted order (pretty manifests sort keys at every level). No prototype: an
 * unknown key named "__proto__" stays a key, where on a plain object it would set the prototype.
 */
export function sortedEntry(e: ManifestEntry): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const k of Object.keys(e).sort()) out[k] = e[k];
  return out;
}

/**
 * Normalises a checked entry in place (it is a fresh object from JSON.parse, ours to change):
 * integer `modified`, `head`/`reference` present (1.x replicas need them), no null forkgroup, no
 * `archived: false`, owner and description as text a file or git config can hold (a lone surrogate
 * from a `\ud800` escape becomes U+FFFD, as writing it would make it; compared raw, it would differ
 * from what we wrote on every pass).
 */
export function normaliseEntry(value: Record<string, unknown>): ManifestEntry {
  const e = value as ManifestEntry;
  if (!Number.isInteger(e.modified)) e.modified = Math.floor(e.modified);
  if (e.owner !== undefined) e.owner = e.owner.replace(LONE_SURROGATE_RE, '\ufffd');
  if (e.description !== undefined) e.description = e.description.replace(LONE_SURROGATE_RE, '\ufffd');
  if (e.head === undefined) e.head = null;
  if (e.reference === undefined) e.reference = null;
  if (e.forkgroup === null) delete e.forkgroup;
  // "archived": false says nothing more than its absence; dropped so the entry reads as grokmirror's.
  if ((e.archived as unknown) === false) delete e.archived;
  if ((e.partial as unknown) === false) delete e.partial;
  return e;
}

/** `modified` as a time every date format shows: a commit dated past the year 9999 counts as its last second. */
export function clampModified(sec: number): number {
  return Number.isFinite(sec) ? Math.min(Math.max(0, sec), MAX_MODIFIED) : sec > 0 ? MAX_MODIFIED : 0;
}

/**
 * Stable comparison of two entries, to skip rewriting a manifest that did not change. `except`: keys
 * left out of the comparison (a replica's own facts, such as `partial`).
 */
export function sameEntry(a: ManifestEntry | undefined, b: ManifestEntry, except?: string): boolean {
  if (!a) return false;
  const ka = Object.keys(a).filter((k) => k !== except).sort();
  const kb = Object.keys(b).filter((k) => k !== except).sort();
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return JSON.stringify(ka.map((k) => a[k])) === JSON.stringify(kb.map((k) => b[k]));
}
