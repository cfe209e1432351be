/**
 * The origin's manifest in memory, kept as slices ("chunks") of entries, each with its JSON text and
 * its own gzip member. The file on disk is the members back to back (a valid multi-member gzip that
 * Python's gzip module, zcat and node:zlib read whole), so a push recompresses one slice of ~512
 * entries instead of the whole manifest: O(1) in the size of the collection.
 * Entries go to slices by a hash of their key; compact JSON has no key order to keep.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Manifest, ManifestEntry } from '../../shared/manifest/entry.js';
import { serializeManifest } from '../../shared/manifest/io.js';

const TARGET_PER_CHUNK = 256;
const MAX_CHUNKS = 4096;
const gz = (text: string) => gzipSync(Buffer.from(text, "utf8"));
const OPEN = gz('{');
const COMMA = gz(',');
const CLOSE = gz('}');

interface Chunk {
  readonly keys: Set<string>;
  member: Buffer;
  digest: Buffer;
  dirty: boolean;
}

export interface Rendered {
  /** The gzip file's members, in order; Buffer.concat gives the file. */
  readonly members: readonly Buffer[];
  readonly size: number;
  /** Strong ETag: a hash over the members' hashes. */
  readonly etag: string;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class ChunkedManifest {
  private readonly entries: Manifest;
  private chunks: Chunk[] = [];

  constructor(entries: Manifest, private readonly pretty = false) {
    this.entries = new Map(entries);
    this.rechunk();
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): ManifestEntry | undefined {
    return this.entries.get(key);
  }

  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  set(key: string, entry: ManifestEntry | null): void {
    const chunk = this.chunkOf(key);
    if (entry === null) {
      if (!this.entries.delete(key)) return;
      chunk.keys.delete(key);
    } else {
      this.entries.set(key, entry);
      chunk.keys.add(key);
    }
    chunk.dirty = true;
    if (this.entries.size > this.chunks.length * TARGET_PER_CHUNK * 4 && this.chunks.length < MAX_CHUNKS) this.rechunk();
  }

  /** Recompresses the slices that changed and returns the file's members. */
  render(): Rendered {
    if (this.pretty) {
      // Pretty manifests are sorted as a whole: one member, rebuilt on every write.
      const member = gz(serializeManifest(this.entries, true));
      return { members: [member], size: member.length, etag: `"${createHash('sha1').update(member).digest('hex')}"` };
    }
    const members: Buffer[] = [OPEN];
    const hash = createHash('sha1');
    let first = true;
    for (const c of this.chunks) {
      if (c.dirty) this.compress(c);
      if (c.keys.size === 0) continue;
      if (!first) members.push(COMMA);
      members.push(c.member);
      hash.update(c.digest);
      first = false;
    }
    members.push(CLOSE);
    const size = members.reduce((n, m) => n + m.length, 0);
    return { members, size, etag: `"${hash.digest('hex')}"` };
  }

  /** The manifest as plain JSON (for /manifest.js); built on request, the slices keep only gzip. */
  json(): Buffer {
    return Buffer.from(serializeManifest(this.entries, this.pretty), 'utf8');
  }

  private chunkOf(key: string): Chunk {
    return this.chunks[fnv1a(key) % this.chunks.length]!;
  }

  private compress(c: Chunk): Chunk {
    const parts: string[] = [];
    for (const k of c.keys) parts.push(`${JSON.stringify(k)}:${JSON.stringify(this.entries.get(k))}`);
    c.member = gz(parts.join(','));
    c.digest = createHash('sha1').update(c.member).digest();
    c.dirty = false;
    return c;
  }

  private rechunk(): void {
    const n = Math.min(MAX_CHUNKS, Math.max(1, Math.ceil(this.entries.size / TARGET_PER_CHUNK)));
    this.chunks = Array.from({ length: n }, () => ({ keys: new Set<string>(), member: Buffer.alloc(0), digest: Buffer.alloc(0), dirty: true }));
    for (const k of this.entries.keys()) this.chunkOf(k).keys.add(k);
  }
}
