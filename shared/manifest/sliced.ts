/**
 * The sliced form of a compact gzip manifest, written by grok-origin and stand-alone grok-manifest
 * alike: entries go to slices by a hash of their key, each slice is its own gzip member, and the
 * file is the members back to back with one-character members for the braces and commas between
 * (`{`, slice, `,`, slice, ..., `}`). A multi-member gzip file inflates to its members joined
 * (RFC 1952), so Python's gzip (grokmirror), zcat and node:zlib read it as one JSON document.
 *
 * Every member carries, in an FEXTRA subfield ('G','m') that readers skip, its own length, its slice
 * number and the slice count, and its entry count: a writer finds the member holding a key from the
 * headers alone (no inflating) and recompresses that one slice, so a push costs the same at 1k or
 * 1M entries. A file without these fields (grokmirror's, an older one) is read whole, as any gzip.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { crc32, deflateRaw, deflateRawSync, inflateRawSync } from 'node:zlib';
import { GrokError } from '../errors.js';
import type { Manifest, ManifestEntry } from './entry.js';
import { mapPool } from '../pool.js';
import { isGzipName } from './io.js';

/** Entries per slice aimed at, and the most slices a file gets (the count is fixed when written). */
export const SLICE_TARGET = 256;
export const MAX_SLICES = 4096;
/** The slice number of the punctuation members. */
const PUNCT = 0xffff;
export const HEADER = 28;
export const TRAILER = 8;
/** Level 1: half the time of level 6 for 2% in size (measured on a 100k-entry manifest). */
const LEVEL = 1;
const deflateRawAsync = promisify(deflateRaw);

export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** How many slices a manifest of `entries` entries is written with. */
export function sliceCountFor(entries: number): number {
  return Math.min(MAX_SLICES, Math.max(1, Math.ceil(entries / SLICE_TARGET)));
}

/** True when `entries` have outgrown `count` slices: the file is then written again in a new layout. */
export function outgrown(entries: number, count: number): boolean {
  return entries > count * SLICE_TARGET * 4 && count < MAX_SLICES;
}

export function sliceOf(key: string, count: number): number {
  return fnv1a(key) % count;
}

/** A slice's JSON text: `"key":{...},"key":{...}` (no braces). */
export function sliceText(entries: Iterable<readonly [string, ManifestEntry]>): string {
  const parts: string[] = [];
  for (const [k, e] of entries) parts.push(`${JSON.stringify(k)}:${JSON.stringify(e)}`);
  return parts.join(',');
}

function wrap(deflated: Buffer, text: Buffer, index: number, count: number, entries: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER + deflated.length + TRAILER);
  out.set([0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 255], 0);
  out.writeUInt16LE(16, 10);
  out.set([0x47, 0x6d], 12);
  out.writeUInt16LE(12, 14);
  out.writeUInt32LE(out.length, 16);
  out.writeUInt16LE(index, 20);
  out.writeUInt16LE(count, 22);
  out.writeUInt32LE(entries, 24);
  deflated.copy(out, HEADER);
  out.writeUInt32LE(crc32(text), HEADER + deflated.length);
  out.writeUInt32LE(text.length >>> 0, HEADER + deflated.length + 4);
  return out;
}

/** The gzip member of one slice (synchronous: a push recompresses one small slice). */
export function sliceMember(text: string, index: number, count: number, entries: number): Buffer {
  const b = Buffer.from(text, 'utf8');
  return wrap(deflateRawSync(b, { level: LEVEL }), b, index, count, entries);
}

/** The same on the threadpool, for writing many slices at once. */
export async function sliceMemberAsync(text: string | Buffer, index: number, count: number, entries: number): Promise<Buffer> {
  const b = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  return wrap(await deflateRawAsync(b, { level: LEVEL, chunkSize: 64 * 1024 }), b, index, count, entries);
}

/**
 * The members of `count` slices, a few compressed at a time on the threadpool (each deflate stream
 * holds its own state: thousands at once took gigabytes); an empty slice has none.
 */
export function compressSlices<T>(slices: readonly T[], size: (s: T, i: number) => number, text: (s: T) => string | Buffer): Promise<(Buffer | null)[]> {
  return mapPool(slices, Math.max(2, availableParallelism()), (s, i) => (size(s, i) === 0 ? Promise.resolve(null) : sliceMemberAsync(text(s), i, slices.length, size(s, i))));
}

const punct = (c: string) => sliceMember(c, PUNCT, 0, 0);
const OPEN = punct('{');
const COMMA = punct(',');
const CLOSE = punct('}');

/** Whether `member` is exactly the punctuation member this writer makes for `c`. */
export function isPunctuation(member: Buffer, c: '{' | ',' | '}'): boolean {
  return member.equals(c === '{' ? OPEN : c === ',' ? COMMA : CLOSE);
}

/** The file's members in order, from the slices' members (undefined or null: an empty slice). */
export function assemble(slices: Iterable<Buffer | null | undefined>): Buffer[] {
  const out: Buffer[] = [OPEN];
  for (const m of slices) {
    if (!m) continue;
    if (out.length > 1) out.push(COMMA);
    out.push(m);
  }
  out.push(CLOSE);
  return out;
}

/** A whole manifest in the sliced form (slices compressed in parallel on the threadpool). */
export async function slicedBytes(m: Manifest): Promise<Buffer> {
  const count = sliceCountFor(m.size);
  const buckets: [string, ManifestEntry][][] = Array.from({ length: count }, () => []);
  for (const [k, e] of m) buckets[sliceOf(k, count)]!.push([k, e]);
  const members = await compressSlices(buckets, (b) => b.length, (b) => sliceText(b));
  return Buffer.concat(assemble(members));
}

export interface SliceRef {
  readonly index: number;
  readonly entries: number;
  readonly start: number;
  readonly end: number;
}

export interface SlicedLayout {
  readonly count: number;
  /** Slice number to its member; absent: an empty slice. */
  readonly slices: ReadonlyMap<number, SliceRef>;
  readonly entries: number;
  /** The size of the JSON text, from the members' trailers. */
  readonly inflated: number;
}

/**
 * The layout of a file in the sliced form, read from the members' headers; null when the bytes are
 * not exactly that form (then the caller reads the file whole). Only the structure is checked here:
 * a slice's content is checked when it is inflated.
 */
export function readLayout(buf: Buffer): SlicedLayout | null {
  const members: { index: number; count: number; entries: number; start: number; end: number }[] = [];
  for (let at = 0; at < buf.length; ) {
    if (buf.length - at < HEADER + TRAILER) return null;
    if (buf[at] !== 0x1f || buf[at + 1] !== 0x8b || buf[at + 2] !== 8 || buf[at + 3] !== 4) return null;
    if (buf.readUInt16LE(at + 10) !== 16 || buf[at + 12] !== 0x47 || buf[at + 13] !== 0x6d || buf.readUInt16LE(at + 14) !== 12) return null;
    const len = buf.readUInt32LE(at + 16);
    if (len < HEADER + TRAILER || at + len > buf.length) return null;
    members.push({ index: buf.readUInt16LE(at + 20), count: buf.readUInt16LE(at + 22), entries: buf.readUInt32LE(at + 24), start: at, end: at + len });
    at += len;
  }
  if (members.length < 2 || members[0]!.index !== PUNCT || members[members.length - 1]!.index !== PUNCT) return null;
  const slices = new Map<number, SliceRef>();
  let count = 0;
  let entries = 0;
  let last = -1;
  let inflated = 0;
  for (const m of members) inflated += buf.readUInt32LE(m.end - 4);
  // Members alternate: `{`, slice, (`,`, slice)*, `}`; slice numbers rise, all with one count.
  for (let i = 1; i < members.length - 1; i++) {
    const m = members[i]!;
    const isSlice = i % 2 === 1;
    if (!isSlice) {
      if (m.index !== PUNCT) return null;
      continue;
    }
    if (m.index === PUNCT || m.count === 0 || m.index >= m.count || m.entries === 0) return null;
    if (count === 0) count = m.count;
    if (m.count !== count || m.index <= last) return null;
    last = m.index;
    slices.set(m.index, m);
    entries += m.entries;
  }
  if (members.length > 2 && members.length % 2 !== 1) return null;
  if (count === 0) return null;
  return { count, slices, entries, inflated };
}

/**
 * A manifest file in the sliced form, with its layout; null when there is no file, it is not a
 * compact gzip one (`pretty`, a name without .gz) or not in that form. The size cap holds for the
 * text the members inflate to, as for any manifest.
 */
export async function readSliced(opts: { file: string; pretty: boolean; maxBytes: number }): Promise<{ raw: Buffer; layout: SlicedLayout } | null> {
  if (opts.pretty || !isGzipName(opts.file)) return null;
  const raw = await readFile(opts.file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  const layout = raw && raw.length <= opts.maxBytes ? readLayout(raw) : null;
  return layout && layout.inflated <= opts.maxBytes ? { raw: raw!, layout } : null;
}

/**
 * The JSON text of one slice (throws on damaged data). `maxBytes` (the manifest size cap) bounds what
 * it inflates to: the trailer's size is only a claim, so a slice that is a gzip bomb is refused
 * before it is inflated past the cap.
 */
export function inflateSlice(buf: Buffer, ref: SliceRef, maxBytes: number, source = 'manifest'): string {
  let text: Buffer;
  try {
    text = inflateRawSync(buf.subarray(ref.start + HEADER, ref.end - TRAILER), { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(source, ref.index, maxBytes);
    throw err;
  }
  if (crc32(text) !== buf.readUInt32LE(ref.end - TRAILER)) throw new Error(`slice ${ref.index}: CRC mismatch`);
  return text.toString('utf8');
}

export function tooLarge(source: string, slice: number, maxBytes: number): GrokError {
  return new GrokError('GROK_ERR_MANIFEST_TOO_LARGE', `${source}: slice ${slice} inflates to more than ${maxBytes} bytes (the manifest size cap); refusing it`, { source, maxBytes });
}
