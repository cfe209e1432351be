/**
 * A replica reading a gzip manifest that is not in the sliced form (grokmirror's: one member, or
 * members some other writer cut): it is inflated in chunks on the threadpool while the main thread
 * scans the chunks that have arrived, entry by entry, so inflating runs beside the scan instead of
 * before it, and the JSON text is never held whole (an entry cut by a chunk's end is finished in a
 * small buffer joined from its two sides).
 *
 * This is a fast path, never a second judge: anything it does not read cleanly to the end (a zlib
 * error, more than manifest_max_size bytes, a byte the scanner refuses, an entry larger than
 * MAX_CARRY) makes it give up, and the caller reads the file the general way, whole, which accepts it
 * or refuses it with the usual error. Nothing is returned, so nothing acted on, before zlib has read
 * the last member's trailer (its size and CRC) and the scanner the text's last byte.
 */
import type { TransformOptions } from 'node:stream';
import { createGunzip, type ZlibOptions } from 'node:zlib';
import { SubsetReader, type ParsedSubset } from './io.js';
import { scanPiece, type PieceState } from './scan.js';

/** Output chunk: big enough that a threadpool round trip per chunk costs nothing, small enough to overlap. */
export const CHUNK = 1024 * 1024;
/** Chunks inflated ahead of the scan (the readable side's high-water mark). */
const AHEAD = 4;
/** The first look at an entry cut by a chunk's end joins this much of the next chunk to it. */
const JOIN = 64 * 1024;
/** An entry this large (manifest entries are ~250 bytes) is left to the whole read. */
const MAX_CARRY = 8 * 1024 * 1024;

/** Scans a manifest's text given piece by piece, as forEachEntry scans it whole. */
export class PieceScanner {
  private state: PieceState = 'open';
  /** The start of an entry the last piece cut (or that did not scan yet), copied out of it. */
  private carry: Buffer | null = null;

  constructor(private readonly subset: SubsetReader) {}

  /** False: give up (a whole read decides). */
  push(piece: Buffer): boolean {
    let from = 0;
    if (this.carry) {
      let take = Math.min(piece.length, JOIN);
      for (;;) {
        const joint = Buffer.concat([this.carry, piece.subarray(0, take)]);
        const r = scanPiece(joint, 0, this.state, this.subset.from(joint));
        if (r.state === 'bad') return false;
        this.state = r.state;
        if (r.next >= this.carry.length) {
          from = r.next - this.carry.length;
          this.carry = null;
          break;
        }
        if (take < piece.length) {
          take = Math.min(piece.length, take * 8);
          continue;
        }
        this.carry = joint.subarray(r.next);
        return this.carry.length <= MAX_CARRY;
      }
    }
    const r = scanPiece(piece, from, this.state, this.subset.from(piece));
    if (r.state === 'bad') return false;
    this.state = r.state;
    if (r.next < piece.length) this.carry = Buffer.from(piece.subarray(r.next));
    return true;
  }

  /** True when the text read was a whole manifest: `}` seen, nothing left over. */
  done(): boolean {
    return this.state === 'end' && this.carry === null;
  }
}

/**
 * The entries of the gzip manifest `raw` that `keep` accepts, inflated and scanned at once; null when
 * this path gives up (the caller reads it whole).
 */
export async function streamManifestSubset(raw: Buffer, maxBytes: number, keep: (key: string) => boolean, chunk = CHUNK): Promise<ParsedSubset | null> {
  const subset = new SubsetReader(keep);
  const scanner = new PieceScanner(subset);
  // zlib's streams take a Transform's options too (node's ZlibBase passes them on).
  const opts: ZlibOptions & TransformOptions = { chunkSize: chunk, readableHighWaterMark: AHEAD * chunk };
  const gunzip = createGunzip(opts);
  gunzip.end(raw);
  let total = 0;
  try {
    // The iterator asks for the next chunk before this one is scanned: the threadpool inflates meanwhile.
    for await (const piece of gunzip as AsyncIterable<Buffer>) {
      total += piece.length;
      if (total > maxBytes || !scanner.push(piece)) return null;
    }
  } catch {
    return null;
  } finally {
    gunzip.destroy();
  }
  return scanner.done() ? subset.result() : null;
}
