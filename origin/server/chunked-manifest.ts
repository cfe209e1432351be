/**
 * The origin's manifest in memory, in the sliced form of the file (shared/manifest/sliced.ts): per
 * slice only its gzip member is kept, and a slice is inflated and parsed when one of its entries is
 * wanted (a few recently used ones stay decoded). A million entries then take the size of the gzip
 * file in memory (tens of MB) instead of a million objects, a push recompresses one slice, and a
 * start-up from a file in the sliced form takes its members as they are (checkAll() then looks at
 * every entry in the background). Every decoded slice is checked entry by entry; an entry that
 * fails is dropped and reported through `onRejected`, as when the whole file is read.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { sameEntry, type Manifest, type ManifestEntry } from '../../shared/manifest/entry.js';
import { DEFAULT_MAX_MANIFEST_BYTES, parseManifestText, serializeManifest, type Rejected } from '../../shared/manifest/io.js';
import { assemble, compressSlices, inflateSlice, outgrown, sliceCountFor, sliceMember, sliceOf, sliceText, type SlicedLayout } from '../../shared/manifest/sliced.js';

/** Decoded clean slices kept for reads (git requests look up their repository's entry). */
const CACHED_SLICES = 64;

interface Slice {
  member: Buffer | null;
  digest: Buffer | null;
  entries: number;
  /** Decoded entries: always while dirty, else while cached. */
  decoded: Map<string, ManifestEntry> | null;
  dirty: boolean;
  /** Every entry checked (decoded once); a slice taken from a file starts unchecked. */
  checked: boolean;
}

export interface Rendered {
  /** The gzip file's members, in order; Buffer.concat gives the file. */
  readonly members: readonly Buffer[];
  readonly size: number;
  /** Strong ETag: a hash over the members' hashes. */
  readonly etag: string;
}

export interface ExternalChange {
  readonly key: string;
  readonly entry: ManifestEntry | null;
}

const emptySlice = (): Slice => ({ member: null, digest: null, entries: 0, decoded: new Map(), dirty: false, checked: true });

export class ChunkedManifest {
  private slices: Slice[] = [];
  private total = 0;
  private readonly cache = new Map<number, true>();

  private constructor(
    private readonly pretty: boolean,
    private readonly onRejected: (r: Rejected) => void,
    /** The manifest size cap: no slice inflates past it. */
    private readonly maxBytes: number,
  ) {}

  /** From checked entries: every slice compressed (in parallel on the threadpool). */
  static async build(entries: Manifest, pretty: boolean, onRejected: (r: Rejected) => void, maxBytes = DEFAULT_MAX_MANIFEST_BYTES): Promise<ChunkedManifest> {
    const m = new ChunkedManifest(pretty, onRejected, maxBytes);
    m.fill(entries, sliceCountFor(entries.size));
    const members = await compressSlices(m.slices, (s) => s.entries, (s) => sliceText(s.decoded!));
    m.slices.forEach((s, i) => {
      s.member = members[i]!;
      s.digest = s.member && createHash('sha1').update(s.member).digest();
      s.decoded = null;
      s.dirty = false;
    });
    return m;
  }

  /** From a file in the sliced form, its members taken as they are (unchecked until decoded). */
  static adopt(raw: Buffer, layout: SlicedLayout, pretty: boolean, onRejected: (r: Rejected) => void, maxBytes = DEFAULT_MAX_MANIFEST_BYTES): ChunkedManifest {
    const m = new ChunkedManifest(pretty, onRejected, maxBytes);
    m.slices = Array.from({ length: layout.count }, emptySlice);
    for (const [i, ref] of layout.slices) {
      // A view into the file's bytes: the members together are the file, so nothing is copied.
      const member = raw.subarray(ref.start, ref.end);
      m.slices[i] = { member, digest: createHash('sha1').update(member).digest(), entries: ref.entries, decoded: null, dirty: false, checked: false };
    }
    m.total = layout.entries;
    return m;
  }

  /** From slices already checked and compressed (slice-stream.ts), one member per slice (null: empty). */
  static fromMembers(members: readonly (Buffer | null)[], entries: readonly number[], pretty: boolean, onRejected: (r: Rejected) => void, maxBytes = DEFAULT_MAX_MANIFEST_BYTES): ChunkedManifest {
    const m = new ChunkedManifest(pretty, onRejected, maxBytes);
    m.slices = members.map((member, i) => ({ member, digest: member && createHash('sha1').update(member).digest(), entries: entries[i]!, decoded: member ? null : new Map(), dirty: false, checked: true }));
    m.total = entries.reduce((a, b) => a + b, 0);
    return m;
  }

  get size(): number {
    return this.total;
  }

  get sliceCount(): number {
    return this.slices.length;
  }

  get(key: string): ManifestEntry | undefined {
    return this.decode(sliceOf(key, this.slices.length)).get(key);
  }

  set(key: string, entry: ManifestEntry | null): void {
    const i = sliceOf(key, this.slices.length);
    const s = this.slices[i]!;
    const d = this.decode(i);
    if (entry === null) {
      if (!d.delete(key)) return;
    } else d.set(key, entry);
    this.touch(i, s, d);
    if (outgrown(this.total, this.slices.length)) this.fill(this.all(), sliceCountFor(this.total));
  }

  /**
   * Checks every slice not decoded yet, a batch at a time (`yieldFn` between batches, so that the
   * server answers meanwhile; false from it stops the check); dropped entries make their slice dirty.
   * Returns how many were dropped.
   */
  async checkAll(yieldFn: () => Promise<boolean>, batch = 64): Promise<number> {
    let dropped = 0;
    for (let i = 0; i < this.slices.length; i++) {
      if (i % batch === 0 && !(await yieldFn())) break;
      const s = this.slices[i];
      if (!s || s.checked) continue;
      const before = s.entries;
      this.decode(i);
      dropped += before - s.entries;
    }
    return dropped;
  }

  /** Recompresses the slices that changed and returns the file's members. */
  render(): Rendered {
    if (this.pretty) {
      // Pretty manifests are sorted as a whole: one member, rebuilt on every write.
      const member = gzipSync(serializeManifest(this.all(), true));
      return { members: [member], size: member.length, etag: `"${createHash('sha1').update(member).digest('hex')}"` };
    }
    const hash = createHash('sha1');
    this.slices.forEach((s, i) => {
      if (s.dirty) {
        s.member = s.entries === 0 ? null : sliceMember(sliceText(s.decoded!), i, this.slices.length, s.entries);
        s.digest = s.member && createHash('sha1').update(s.member).digest();
        s.dirty = false;
        this.cache.set(i, true);
        this.trimCache();
      }
      if (s.digest) hash.update(s.digest);
    });
    const members = assemble(this.slices.map((s) => s.member));
    return { members, size: members.reduce((n, m) => n + m.length, 0), etag: `"${hash.digest('hex')}"` };
  }

  /** The manifest as plain JSON (for /manifest.js and a file not named .gz). */
  json(): Buffer {
    if (this.pretty) return Buffer.from(serializeManifest(this.all(), true), 'utf8');
    return gunzipSync(Buffer.concat(this.render().members));
  }

  /**
   * Takes another writer's manifest, except the keys `keep` names (ours, not written yet): returns
   * what changed. A file in the same sliced layout is compared member by member, so only the slices
   * it changed are decoded; any other is compared entry by entry.
   */
  replaceWith(next: { entries: Manifest } | { raw: Buffer; layout: SlicedLayout }, keep: (key: string) => boolean): ExternalChange[] {
    const count = this.slices.length;
    const theirs: (Map<string, ManifestEntry> | Buffer | null)[] = Array.from({ length: count }, () => null);
    if ('entries' in next) {
      for (let i = 0; i < count; i++) theirs[i] = new Map();
      for (const [k, e] of next.entries) (theirs[sliceOf(k, count)] as Map<string, ManifestEntry>).set(k, e);
    } else if (next.layout.count === count) {
      for (const [i, ref] of next.layout.slices) theirs[i] = next.raw.subarray(ref.start, ref.end);
    } else {
      const all = new Map<string, ManifestEntry>();
      for (const ref of next.layout.slices.values()) for (const [k, e] of this.parse(inflateSlice(next.raw, ref, this.maxBytes), null)) all.set(k, e);
      return this.replaceWith({ entries: all }, keep);
    }
    const changes: ExternalChange[] = [];
    for (let i = 0; i < count; i++) {
      const s = this.slices[i]!;
      const t = theirs[i];
      if (Buffer.isBuffer(t) && s.member && !s.dirty && t.equals(s.member)) continue;
      if (t === null && s.entries === 0) continue;
      const tm = Buffer.isBuffer(t) ? this.parse(inflateSlice(t, { index: i, entries: 0, start: 0, end: t.length }, this.maxBytes), null) : ((t as Map<string, ManifestEntry> | null) ?? new Map<string, ManifestEntry>());
      const ours = this.decode(i);
      const merged = new Map<string, ManifestEntry>();
      for (const [k, e] of tm) {
        if (keep(k)) continue;
        merged.set(k, e);
        const old = ours.get(k);
        if (!sameEntry(old, e)) changes.push({ key: k, entry: e });
      }
      for (const [k, e] of ours) {
        if (keep(k)) merged.set(k, e);
        else if (!tm.has(k)) changes.push({ key: k, entry: null });
      }
      this.touch(i, s, merged);
    }
    return changes;
  }

  private parse(text: string, slice: number | null): Map<string, ManifestEntry> {
    const parsed = parseManifestText(`{${text}}`, slice === null ? 'manifest slice' : `manifest slice ${slice}`);
    for (const r of parsed.rejected) this.onRejected(r);
    return parsed.entries;
  }

  private decode(i: number): Map<string, ManifestEntry> {
    const s = this.slices[i]!;
    if (s.decoded) {
      if (!s.dirty && this.cache.delete(i)) this.cache.set(i, true);
      return s.decoded;
    }
    const member = s.member;
    if (!member) return (s.decoded = new Map());
    const d = this.parse(inflateSlice(member, { index: i, entries: s.entries, start: 0, end: member.length }, this.maxBytes), i);
    s.decoded = d;
    s.checked = true;
    // Entries dropped by the checks: the slice is written again without them.
    if (d.size !== s.entries) this.touch(i, s, d);
    else {
      this.cache.set(i, true);
      this.trimCache();
    }
    return d;
  }

  private touch(i: number, s: Slice, d: Map<string, ManifestEntry>): void {
    this.total += d.size - s.entries;
    s.entries = d.size;
    s.decoded = d;
    s.dirty = true;
    s.checked = true;
    this.cache.delete(i);
  }

  private trimCache(): void {
    for (const i of this.cache.keys()) {
      if (this.cache.size <= CACHED_SLICES) break;
      this.cache.delete(i);
      const s = this.slices[i]!;
      if (!s.dirty) s.decoded = null;
    }
  }

  /** Every entry (decoding each slice once, without filling the cache). */
  private all(): Manifest {
    const out: Manifest = new Map();
    this.slices.forEach((s, i) => {
      const d = s.decoded ?? (s.entries === 0 ? new Map() : this.parse(inflateSlice(s.member!, { index: i, entries: s.entries, start: 0, end: s.member!.length }, this.maxBytes), i));
      for (const [k, e] of d) out.set(k, e);
    });
    return out;
  }

  /** Puts `entries` into `count` new slices, all dirty (compressed at the next render). */
  private fill(entries: Manifest, count: number): void {
    this.slices = Array.from({ length: count }, emptySlice);
    this.cache.clear();
    for (const [k, e] of entries) this.slices[sliceOf(k, count)]!.decoded!.set(k, e);
    for (const s of this.slices) {
      s.entries = s.decoded!.size;
      s.dirty = s.entries > 0;
    }
    this.total = entries.size;
  }
}
