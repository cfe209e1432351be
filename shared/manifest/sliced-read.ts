/**
 * A replica reading a manifest in the sliced form (sliced.ts) slice by slice: each member is inflated
 * on its own, several at once on the threadpool, and scanned as soon as it is inflated, in file
 * order. The manifest's JSON text is never held whole (a 1M-entry manifest inflates to 250 MB), and
 * on two cores inflating runs beside the scan instead of before it.
 *
 * The document read is the one any gzip reader sees: the punctuation members must be exactly the
 * `{`, `,` and `}` this writer makes, each slice must be a list of members on its own, and each
 * member must inflate to the size and CRC its trailer gives. Anything else (another writer's bytes, a
 * damaged member, a string cut across two slices) is read again the general way, whole, which
 * accepts it or refuses it with the usual error: this path never accepts what that one refuses.
 */
import { promisify } from 'node:util';
import { crc32, inflateRaw, inflateRawSync } from 'node:zlib';
import { GrokError } from '../errors.js';
import { gunzipCapped, gzipMagic } from './inflate.js';
import { parseManifestSubset, SubsetReader, type ParsedSubset } from './io.js';
import { forEachMember } from './scan.js';
import { streamManifestSubset } from './stream-read.js';
import { HEADER, isPunctuation, readLayout, TRAILER, type SliceRef, type SlicedLayout } from './sliced.js';

/** Members inflating at once: enough to keep the threadpool (4 threads) busy while one is scanned. */
const WINDOW = 8;
const inflateRawAsync = promisify(inflateRaw);

/** A manifest as fetched: its JSON, or gzip bytes (with their layout when in the sliced form) read when parsed. */
export type ManifestBody = Buffer | GzipBody;

export interface GzipBody {
  readonly raw: Buffer;
  /** Null: not in the sliced form (grokmirror's one member): inflated and scanned at once (stream-read.ts). */
  readonly layout: SlicedLayout | null;
  readonly maxBytes: number;
}

type SlicedBody = GzipBody & { readonly layout: SlicedLayout };

/**
 * Gzip manifest bytes to read: kept as they are (not gzip at all is refused now), inflated when
 * parsed. A sliced file whose trailers claim more than the cap is refused now, as it was before.
 */
export function gzipManifestBody(raw: Buffer, maxBytes: number, source: string): ManifestBody {
  gzipMagic(raw, source);
  const layout = raw.length <= maxBytes ? readLayout(raw) : null;
  if (layout && layout.inflated <= maxBytes) return { raw, layout, maxBytes };
  if (layout) return gunzipCapped(raw, maxBytes, source);
  return { raw, layout: null, maxBytes };
}

class NotSliced extends Error {}

const isSliced = (body: GzipBody): body is SlicedBody => body.layout !== null;

function orderedSlices(body: SlicedBody): SliceRef[] {
  const refs = [...body.layout.slices.values()].sort((a, b) => a.start - b.start);
  const { raw } = body;
  const gaps = refs.map((r, i) => raw.subarray(i === 0 ? 0 : refs[i - 1]!.end, r.start));
  const ok = gaps.every((g, i) => isPunctuation(g, i === 0 ? '{' : ',')) && isPunctuation(raw.subarray(refs.at(-1)!.end), '}');
  if (!ok) throw new NotSliced();
  return refs;
}

function deflated(raw: Buffer, ref: SliceRef): { data: Buffer; size: number; crc: number } {
  return { data: raw.subarray(ref.start + HEADER, ref.end - TRAILER), size: raw.readUInt32LE(ref.end - 4), crc: raw.readUInt32LE(ref.end - TRAILER) };
}

/**
 * One output buffer a byte larger than the slice: zlib sees the stream end with room to spare,
 * instead of a full buffer that costs another round trip to find there is nothing more.
 */
const outputChunk = (size: number) => Math.max(64, Math.min(size + 1, 4 * 1024 * 1024));

/** The slice's text, checked against its trailer; the trailer's size caps the output. */
function checked(text: Buffer, m: { size: number; crc: number }): Buffer {
  if (text.length !== m.size || crc32(text) !== m.crc) throw new NotSliced();
  return text;
}

async function inflateMember(raw: Buffer, ref: SliceRef): Promise<Buffer> {
  const m = deflated(raw, ref);
  const text = await inflateRawAsync(m.data, { maxOutputLength: Math.max(1, m.size), chunkSize: outputChunk(m.size) }).catch(() => {
    throw new NotSliced();
  });
  return checked(text, m);
}

function inflateMemberSync(raw: Buffer, ref: SliceRef): Buffer {
  const m = deflated(raw, ref);
  let text: Buffer;
  try {
    text = inflateRawSync(m.data, { maxOutputLength: Math.max(1, m.size), chunkSize: outputChunk(m.size) });
  } catch {
    throw new NotSliced();
  }
  return checked(text, m);
}

function scanSlice(subset: SubsetReader, text: Buffer, source: string): void {
  try {
    forEachMember(text, source, subset.from(text));
  } catch (err) {
    if (err instanceof GrokError && err.code === 'GROK_ERR_MANIFEST_PARSE') throw new NotSliced();
    throw err;
  }
}

function whole(body: ManifestBody, source: string, keep: (key: string) => boolean): ParsedSubset {
  return parseManifestSubset(Buffer.isBuffer(body) ? body : gunzipCapped(body.raw, body.maxBytes, source), source, keep);
}

/** parseManifestSubset for a fetched manifest; a sliced one is inflated on the threadpool as it is scanned. */
export async function readManifestSubset(body: ManifestBody, source: string, keep: (key: string) => boolean): Promise<ParsedSubset> {
  if (Buffer.isBuffer(body)) return parseManifestSubset(body, source, keep);
  if (!isSliced(body)) return (await streamManifestSubset(body.raw, body.maxBytes, keep)) ?? whole(body, source, keep);
  try {
    const refs = orderedSlices(body);
    const subset = new SubsetReader(keep);
    const pending: Promise<Buffer>[] = [];
    const start = (i: number) => {
      // Each started at once is awaited in order; one failing early must not go unhandled meanwhile.
      if (i < refs.length) (pending[i] = inflateMember(body.raw, refs[i]!)).catch(() => undefined);
    };
    for (let i = 0; i < WINDOW; i++) start(i);
    for (let i = 0; i < refs.length; i++) {
      const text = await pending[i]!;
      delete pending[i];
      start(i + WINDOW);
      scanSlice(subset, text, source);
    }
    return subset.result();
  } catch (err) {
    if (err instanceof NotSliced) return whole(body, source, keep);
    throw err;
  }
}

/** The same, synchronously (a second look for a few keys: legacy-reference.ts chainEntries). */
export function readManifestSubsetSync(body: ManifestBody, source: string, keep: (key: string) => boolean): ParsedSubset {
  if (Buffer.isBuffer(body) || !isSliced(body)) return whole(body, source, keep);
  try {
    const subset = new SubsetReader(keep);
    for (const ref of orderedSlices(body)) scanSlice(subset, inflateMemberSync(body.raw, ref), source);
    return subset.result();
  } catch (err) {
    if (err instanceof NotSliced) return whole(body, source, keep);
    throw err;
  }
}
