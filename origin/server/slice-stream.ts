/**
 * The sliced form built from a manifest file that is not in it (grokmirror's: one gzip member) as the
 * file inflates, without ever holding the manifest as objects: a scanner that knows only strings and
 * nesting cuts the JSON text into entries (`"key": {...}`), keeps their bytes in a few large blocks
 * with the hash of each key, and then each slice alone is parsed, checked (as a whole file would be)
 * and compressed. Reading a 1M-entry file whole made a million objects next to the 250 MB of text:
 * 1.2 GB at the peak and most of a 25 s start-up in parsing and collecting them.
 */
import { createReadStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { ManifestEntry } from '../../shared/manifest/entry.js';
import { parseManifestText, type Rejected } from '../../shared/manifest/io.js';
import { fnv1a, sliceCountFor, sliceMemberAsync, sliceText } from '../../shared/manifest/sliced.js';
import { mapPool } from '../../shared/pool.js';

const BLOCK = 8 * 1024 * 1024;
const Q = 0x22;
const BACKSLASH = 0x5c;

export interface StreamedSlices {
  /** Each slice's gzip member (null: empty), as ChunkedManifest keeps them. */
  readonly members: (Buffer | null)[];
  readonly entries: number[];
}

/** Entry texts in large blocks, with each entry's place and key hash in typed arrays. */
class Arena {
  blocks: Buffer[] = [];
  private pos = BLOCK;
  count = 0;
  block = new Uint32Array(1 << 16);
  start = new Uint32Array(1 << 16);
  length = new Uint32Array(1 << 16);
  hash = new Uint32Array(1 << 16);

  /** Stores the entry followed by a comma, so that a slice's text is its entries joined, less the last byte. */
  add(parts: readonly Buffer[], hash: number): void {
    const len = parts.reduce((n, p) => n + p.length, 0) + 1;
    if (this.pos + len > (this.blocks.at(-1)?.length ?? 0)) {
      this.blocks.push(Buffer.allocUnsafe(Math.max(BLOCK, len)));
      this.pos = 0;
    }
    const b = this.blocks.at(-1)!;
    if (this.count === this.hash.length) this.grow();
    this.block[this.count] = this.blocks.length - 1;
    this.start[this.count] = this.pos;
    this.length[this.count] = len;
    this.hash[this.count] = hash;
    this.count++;
    for (const p of parts) this.pos += p.copy(b, this.pos);
    b[this.pos++] = 0x2c;
  }

  text(i: number): Buffer {
    return this.blocks[this.block[i]!]!.subarray(this.start[i]!, this.start[i]! + this.length[i]!);
  }

  private grow(): void {
    const g = (a: Uint32Array) => {
      const n = new Uint32Array(a.length * 2);
      n.set(a);
      return n;
    };
    [this.block, this.start, this.length, this.hash] = [g(this.block), g(this.start), g(this.length), g(this.hash)];
  }
}

/**
 * Cuts the top-level object's members out of the JSON text, chunk by chunk. Anything it does not
 * expect (not an object, a member that does not start with a key, text after the end) makes it
 * give up: the caller then reads the file the ordinary way, which names the problem.
 */
class Scanner {
  private depth = 0;
  private inStr = false;
  private esc = false;
  private done = false;
  /** The entry being cut: its pieces so far (it may span chunks), and its key's. */
  private entry: Buffer[] | null = null;
  private key: Buffer[] = [];
  private inKey = false;
  private keyPlain = true;
  private afterComma = false;
  failed = false;

  constructor(private readonly arena: Arena) {}

  push(c: Buffer): void {
    if (this.failed) return;
    let from = -1;
    let keyFrom = -1;
    for (let i = 0; i < c.length; i++) {
      const b = c[i]!;
      if (this.inStr) {
        if (this.esc) this.esc = false;
        else if (b === BACKSLASH) {
          this.esc = true;
          if (this.inKey) this.keyPlain = false;
        } else if (b === Q) {
          this.inStr = false;
          if (this.inKey) {
            this.key.push(c.subarray(keyFrom === -1 ? 0 : keyFrom, i));
            this.inKey = false;
          }
        } else if (b >= 0x80 && this.inKey) this.keyPlain = false;
        continue;
      }
      if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
      if (this.done || (this.depth === 0 && b !== 0x7b)) return this.fail();
      if (this.depth === 1 && this.entry === null) {
        if (b === 0x7d && !this.afterComma) {
          this.depth = 0;
          this.done = true;
          continue;
        }
        if (b !== Q) return this.fail();
        this.entry = [];
        from = i;
        this.inStr = true;
        this.inKey = true;
        keyFrom = i + 1;
        this.afterComma = false;
        continue;
      }
      if (b === Q) this.inStr = true;
      else if (b === 0x7b || b === 0x5b) this.depth++;
      else if (b === 0x5d || (b === 0x7d && this.depth > 1)) this.depth--;
      else if (this.depth === 1 && (b === 0x2c || b === 0x7d)) {
        this.entry!.push(c.subarray(from === -1 ? 0 : from, i));
        this.finish();
        from = -1;
        if (b === 0x2c) this.afterComma = true;
        else {
          this.depth = 0;
          this.done = true;
        }
      }
    }
    if (this.entry) this.entry.push(c.subarray(from === -1 ? 0 : from));
    if (this.inKey) this.key.push(c.subarray(keyFrom === -1 ? 0 : keyFrom));
  }

  /** True when the text was one whole object. */
  end(): boolean {
    return !this.failed && this.done;
  }

  private finish(): void {
    const raw = this.key.length === 1 ? this.key[0]! : Buffer.concat(this.key);
    // A key of plain ASCII hashes as its bytes; any other is decoded first (escapes, UTF-8).
    const hash = this.keyPlain ? fnvBytes(raw) : fnv1a(JSON.parse(`"${raw.toString('utf8')}"`) as string);
    this.arena.add(this.entry!, hash);
    this.entry = null;
    this.key = [];
    this.keyPlain = true;
  }

  private fail(): void {
    this.failed = true;
  }
}

function fnvBytes(b: Buffer): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) {
    h ^= b[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The slices of a gzip manifest file; null when its text is not one JSON object or inflates to
 * more than `maxBytes` (the caller then reads it whole, and reports what is wrong).
 */
export async function streamSlices(file: string, maxBytes: number, onRejected: (r: Rejected) => void): Promise<StreamedSlices | null> {
  // pipeline, not pipe: a read error (no file) must end the iteration, not go unhandled.
  return slicesFromText(pipeline(createReadStream(file), createGunzip({ chunkSize: 256 * 1024 }), () => {}), file, maxBytes, onRejected);
}

/** The same from the JSON text in chunks (cut anywhere). */
export async function slicesFromText(text: AsyncIterable<Buffer>, source: string, maxBytes: number, onRejected: (r: Rejected) => void): Promise<StreamedSlices | null> {
  const arena = new Arena();
  const scanner = new Scanner(arena);
  let inflated = 0;
  try {
    for await (const chunk of text) {
      inflated += chunk.length;
      if (inflated > maxBytes) return null;
      scanner.push(chunk);
      if (scanner.failed) return null;
    }
  } catch {
    return null;
  }
  if (!scanner.end()) return null;
  const count = sliceCountFor(arena.count);
  // Entries grouped by slice (a counting sort over their hashes).
  const firsts = new Uint32Array(count + 1);
  for (let i = 0; i < arena.count; i++) firsts[(arena.hash[i]! % count) + 1]!++;
  for (let s = 0; s < count; s++) firsts[s + 1]! += firsts[s]!;
  const order = new Uint32Array(arena.count);
  const fill = firsts.slice(0, count);
  for (let i = 0; i < arena.count; i++) order[fill[arena.hash[i]! % count]!++] = i;
  const entries = new Array<number>(count).fill(0);
  const members = await mapPool(Array.from({ length: count }, (_, s) => s), Math.max(2, availableParallelism()), async (s) => {
    const parts: Buffer[] = [];
    for (let k = firsts[s]!; k < firsts[s + 1]!; k++) parts.push(arena.text(order[k]!));
    if (parts.length === 0) return null;
    const raw = Buffer.concat(parts);
    const text = raw.subarray(0, raw.length - 1);
    // Parsed and checked here, as a whole file is, so that a bad file stops the start-up as before.
    const parsed = parseManifestText(`{${text.toString('utf8')}}`, source);
    for (const r of parsed.rejected) onRejected(r);
    entries[s] = parsed.entries.size;
    if (parsed.entries.size === 0) return null;
    // Written from the checked entries, normalised: the same bytes as from the manifest read whole.
    return sliceMemberAsync(sliceText(parsed.entries as Map<string, ManifestEntry>), s, count, parsed.entries.size);
  });
  return { members, entries };
}
