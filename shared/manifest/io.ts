/**
 * Reading and writing manifest files: gzip when the name ends in `.gz` (grokmirror looks for ".gz"
 * anywhere in the name), atomic replacement, a size cap on reading, and strict checks of the whole
 * document; entries that fail their checks are set aside with the reason, never silently used.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { GrokError } from '../errors.js';
import { atomicWrite } from '../fs/atomic.js';
import { entryProblem, normaliseEntry, sortedEntry, type Manifest, type ManifestEntry } from './entry.js';
import { gunzipCapped } from './inflate.js';
import { keyProblem } from './keys.js';
import { forEachEntry, type OnEntry } from './scan.js';
import { slicedBytes } from './sliced.js';

export const DEFAULT_MAX_MANIFEST_BYTES = 512 * 1024 * 1024;
/** Level 1 takes half the time of level 6 and costs 2% in size on a 100k-entry manifest. */
const GZIP_LEVEL = 1;

export interface Rejected {
  readonly key: string;
  readonly why: string;
}

export interface ParsedManifest {
  readonly entries: Manifest;
  readonly rejected: readonly Rejected[];
}

export function isGzipName(file: string): boolean {
  return file.endsWith('.gz');
}

/** Decodes (and gunzips, when asked) raw manifest bytes into checked entries. */
export function decodeManifest(raw: Uint8Array, source: string, opts: { gzip: boolean; maxBytes?: number }): ParsedManifest {
  return parseManifestText(manifestJson(raw, source, opts).toString('utf8'), source);
}

export function parseManifestText(text: string, source: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new GrokError('GROK_ERR_MANIFEST_PARSE', `${source}: not valid JSON (${(err as Error).message})`, { source }, { cause: err });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    const kind = Array.isArray(doc) ? 'an array' : doc === null ? 'null' : typeof doc;
    throw new GrokError('GROK_ERR_MANIFEST_SHAPE', `${source}: expected a JSON object keyed by repository path, found ${kind}`, { source });
  }
  const entries: Manifest = new Map();
  const rejected: Rejected[] = [];
  const obj = doc as Record<string, unknown>;
  for (const key in obj) {
    const value = obj[key];
    const why = keyProblem(key) ?? entryProblem(value);
    if (why) {
      rejected.push({ key, why: keyProblem(key) ? `key ${why}` : `entry ${why}` });
      continue;
    }
    entries.set(key, normaliseEntry(value as Record<string, unknown>));
  }
  return { entries, rejected };
}

/** Raw manifest bytes inflated (when asked) and held to the size cap. */
export function manifestJson(raw: Uint8Array, source: string, opts: { gzip: boolean; maxBytes?: number }): Buffer {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  if (opts.gzip) return gunzipCapped(bytes, maxBytes, source);
  if (bytes.length > maxBytes) {
    throw new GrokError('GROK_ERR_MANIFEST_TOO_LARGE', `${source}: larger than ${maxBytes} bytes (the manifest size cap)`, { source, maxBytes });
  }
  return bytes;
}

/** The entries a reader kept of a manifest, and how many the manifest holds in all. */
export interface ParsedSubset extends ParsedManifest {
  readonly total: number;
}

function checkedEntry(key: string, text: string): { entry: ManifestEntry } | { why: string } {
  const keyWhy = keyProblem(key);
  if (keyWhy) return { why: `key ${keyWhy}` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { why: `entry is not valid JSON (${(err as Error).message})` };
  }
  const why = entryProblem(value);
  return why ? { why: `entry ${why}` } : { entry: normaliseEntry(value as Record<string, unknown>) };
}

/**
 * The entries of a manifest whose keys `keep` accepts, checked as parseManifestText checks them; the
 * others are skipped over without being built (the whole document is still checked as JSON). One
 * copy of the manifest is held, its bytes, never a second as objects: a replica that wants a few
 * entries of a million reads it in the time of a scan (docs/architecture.md "A pass at scale").
 */
export function parseManifestSubset(json: Buffer, source: string, keep: (key: string) => boolean): ParsedSubset {
  // Anything but an object is refused with a whole parse's words (what it is, or why it is no JSON).
  const first = json.findIndex((c) => c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09);
  if (json[first] !== 0x7b) return { ...parseManifestText(json.toString('utf8'), source), total: 0 };
  const subset = new SubsetReader(keep);
  forEachEntry(json, source, subset.from(json));
  return subset.result();
}

/** Gathers the kept entries of a manifest read in one piece or in several (the slices of the sliced form, in order). */
export class SubsetReader {
  private readonly entries: Manifest = new Map();
  private readonly rejected = new Map<string, string>();
  private total = 0;

  constructor(private readonly keep: (key: string) => boolean) {}

  /** The scanner's callback for `json`, one piece of the manifest. */
  from(json: Buffer): OnEntry {
    return (key, _keyStart, valueStart, valueEnd) => {
      this.total++;
      if (!this.keep(key)) return;
      // A key given twice: the last value counts, as with JSON.parse.
      this.rejected.delete(key);
      const res = checkedEntry(key, json.toString('utf8', valueStart, valueEnd));
      if ('entry' in res) this.entries.set(key, res.entry);
      else {
        this.entries.delete(key);
        this.rejected.set(key, res.why);
      }
    };
  }

  result(): ParsedSubset {
    return { entries: this.entries, rejected: [...this.rejected].map(([key, why]) => ({ key, why })), total: this.total };
  }
}

/** Reads a manifest file; `null` when it does not exist. */
export async function readManifestFile(file: string, maxBytes = DEFAULT_MAX_MANIFEST_BYTES): Promise<ParsedManifest | null> {
  let raw: Buffer;
  try {
    const st = await fsp.stat(file);
    if (st.size > maxBytes) {
      throw new GrokError('GROK_ERR_MANIFEST_TOO_LARGE', `${file}: ${st.size} bytes on disk, more than the cap of ${maxBytes}`, { file });
    }
    raw = await fsp.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if (err instanceof GrokError) throw err;
    throw new GrokError('GROK_ERR_MANIFEST_PARSE', `${file}: cannot read (${(err as Error).message})`, { file }, { cause: err });
  }
  return decodeManifest(raw, file, { gzip: isGzipName(file), maxBytes });
}

/** Pretty: indent 2 with every key sorted (grokmirror's -y). Compact: one line. */
export function serializeManifest(m: Manifest, pretty: boolean): string {
  const obj: Record<string, unknown> = Object.create(null);
  const keys = pretty ? [...m.keys()].sort() : m.keys();
  for (const k of keys) {
    const e = m.get(k)!;
    obj[k] = pretty ? sortedEntry(e) : e;
  }
  return pretty ? JSON.stringify(obj, null, 2) : JSON.stringify(obj);
}

const gzipAsync = promisify(gzip);
/** Below this, one gzip member; above, one member per core, compressed in parallel. */
const PARALLEL_GZIP_BYTES = 4 * 1024 * 1024;

/**
 * The bytes to store for a manifest's JSON text: gzip-compressed when the file name says so. A large
 * manifest is cut into one piece per core and each piece compressed as its own gzip member on the
 * threadpool, at once: a multi-member gzip file inflates to the pieces joined (RFC 1952), whichever
 * byte the cut falls on, and every reader we care about (Python's gzip, zcat, node:zlib) reads it
 * whole. On 2 cores this halves the deflate time of a 22 MB manifest.
 */
export async function manifestBytes(file: string, json: Buffer): Promise<Buffer> {
  if (!isGzipName(file)) return json;
  const pieces = json.length < PARALLEL_GZIP_BYTES ? 1 : Math.max(1, Math.min(8, os.availableParallelism()));
  const size = Math.ceil(json.length / pieces);
  const parts = Array.from({ length: pieces }, (_, i) => json.subarray(i * size, (i + 1) * size));
  // Large chunks: the default 16 KiB costs a threadpool round trip per chunk.
  return Buffer.concat(await Promise.all(parts.map((p) => gzipAsync(p, { level: GZIP_LEVEL, chunkSize: 4 * 1024 * 1024 }))));
}

/** A compact gzip manifest is written in the sliced form (sliced.ts), so the next push recompresses one slice. */
export async function writeManifestFile(file: string, m: Manifest, opts: { pretty: boolean; mtime?: number }): Promise<void> {
  const data = isGzipName(file) && !opts.pretty && m.size > 0 ? await slicedBytes(m) : await manifestBytes(file, Buffer.from(serializeManifest(m, opts.pretty), 'utf8'));
  await atomicWrite(file, data, opts.mtime === undefined ? {} : { mtime: opts.mtime });
}
