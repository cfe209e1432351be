/**
 * The ordered, resumable record of manifest changes behind the change feed. Event ids are
 * `<boot>-<seq>`: a client resuming with an id from another run of the server, or from further back
 * than the backlog reaches, is told to re-read the whole manifest instead.
 */
import { randomBytes } from 'node:crypto';
import type { ManifestEntry } from '../../shared/manifest/entry.js';

export interface ChangeEvent {
  readonly seq: number;
  readonly key: string;
  /** The new entry, or null when the repository left the manifest. */
  readonly entry: ManifestEntry | null;
  /** Epoch milliseconds. */
  readonly at: number;
}

export type Since = { readonly events: readonly ChangeEvent[] } | { readonly reset: true };

export class EventLog {
  readonly boot: string;
  private readonly ring: (ChangeEvent | undefined)[];
  private next = 1;
  private readonly listeners = new Set<(e: ChangeEvent) => void>();

  constructor(readonly capacity: number, boot = randomBytes(4).toString('hex')) {
    this.boot = boot;
    this.ring = new Array<ChangeEvent | undefined>(capacity);
  }

  get last(): number {
    return this.next - 1;
  }

  idOf(seq: number): string {
    return `${this.boot}-${seq}`;
  }

  append(key: string, entry: ManifestEntry | null, at: number): ChangeEvent {
    const e: ChangeEvent = { seq: this.next++, key, entry, at };
    this.ring[e.seq % this.capacity] = e;
    for (const fn of this.listeners) fn(e);
    return e;
  }

  /**
   * The sequence number an id stands for, when everything after it is still here; null when the id
   * is foreign, malformed or too old (the client must re-read the manifest).
   */
  resumeSeq(id: string | null | undefined): number | null {
    if (id === null || id === undefined || id === '') return null;
    const m = /^([0-9a-f]+)-(\d+)$/.exec(id);
    if (!m || m[1] !== this.boot) return null;
    const seq = Number(m[2]);
    if (seq > this.last) return null;
    return this.at(seq + 1) !== null || seq === this.last ? seq : null;
  }

  /** The event with this sequence number while the backlog still holds it, else null. */
  at(seq: number): ChangeEvent | null {
    if (!Number.isSafeInteger(seq) || seq < 1 || seq >= this.next || seq < this.next - this.capacity) return null;
    return this.ring[seq % this.capacity] ?? null;
  }

  /** Events after the given id; a reset when the id is foreign, malformed or too old. */
  since(id: string | null | undefined): Since {
    const seq = this.resumeSeq(id);
    if (seq === null) return { reset: true };
    const events: ChangeEvent[] = [];
    for (let s = seq + 1; s < this.next; s++) events.push(this.ring[s % this.capacity]!);
    return { events };
  }

  subscribe(fn: (e: ChangeEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get subscribers(): number {
    return this.listeners.size;
  }
}
