/**
 * One manifest entry, the grokmirror 2.x format (see spec/manifest.md), and the checks every entry
 * read from a file or the network goes through. Unknown keys are kept as they are, so a newer writer's
 * additions survive a round trip; known keys must have their documented types.
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
const CONTROL_EXCEPT_WS_RE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const KNOWN_KEYS = new Set(['modified', 'fingerprint', 'head', 'reference', 'owner', 'description', 'forkgroup', 'symlinks']);
/** Deeper than this, an unknown value is refused: JSON.stringify recurses, and a deep enough value overflows its stack. */
const MAX_UNKNOWN_DEPTH = 32;

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
  if (typeof e.fingerprint !== 'string') return 'has no fingerprint';
  if (!FINGERPRINT_RE.test(e.fingerprint)) return 'has a fingerprint that is not 40 hex digits';
  if (typeof e.modified !== 'number' || !Number.isFinite(e.modified) || e.modified < 0) return 'has a "modified" that is not a non-negative number';
  const head = headProblem(e.head ?? null);
  if (head) return `has a "head" that ${head}`;
  if (e.reference !== undefined && e.reference !== null) {
    const why = keyProblem(e.reference);
    if (why) return `has a "reference" that ${why}`;
  }
  if (e.owner !== undefined && (typeof e.owner !== 'string' || CONTROL_RE.test(e.owner))) return 'has an "owner" that is not a plain string';
  if (e.description !== undefined && (typeof e.description !== 'string' || CONTROL_EXCEPT_WS_RE.test(e.description))) {
    return 'has a "description" that is not a plain string';
  }
  if (e.forkgroup !== undefined && e.forkgroup !== null && (typeof e.forkgroup !== 'string' || !FORKGROUP_RE.test(e.forkgroup))) {
    return 'has a "forkgroup" that is not a plain name';
  }
  // Unknown keys are carried along and written back, so what they hold must be writable.
  for (const k in e) {
    const v = e[k];
    if (typeof v === 'object' && v !== null && !KNOWN_KEYS.has(k) && nestsDeeper(v, MAX_UNKNOWN_DEPTH)) {
      return `has a value under ${JSON.stringify(k)} nested more than ${MAX_UNKNOWN_DEPTH} levels deep`;
    }
  }
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

/** A copy with keys in sorted order (pretty manifests sort keys at every level). */
export function sortedEntry(e: ManifestEntry): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(e).sort()) out[k] = e[k];
  return out;
}

/**
 * Normalises a checked entry in place (it is a fresh object from JSON.parse, ours to change):
 * integer `modified`, `head`/`reference` present (1.x replicas need them), no null forkgroup, no
 * `archived: false`.
 */
export function normaliseEntry(value: Record<string, unknown>): ManifestEntry {
  const e = value as ManifestEntry;
  if (!Number.isInteger(e.modified)) e.modified = Math.floor(e.modified);
  if (e.head === undefined) e.head = null;
  if (e.reference === undefined) e.reference = null;
  if (e.forkgroup === null) delete e.forkgroup;
  // "archived": false says nothing more than its absence; dropped so the entry reads as grokmirror's.
  if ((e.archived as unknown) === false) delete e.archived;
  if ((e.partial as unknown) === false) delete e.partial;
  return e;
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
