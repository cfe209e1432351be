/**
 * At most `limit` holders at once, and at most `perKey` of them for one key (a client address, see
 * client-address.ts), so that one client cannot take every slot; the rest wait in order, skipping a
 * waiter whose client already holds its share. A client with `maxWaitingPerKey` requests waiting
 * is refused further ones at once (they would only hold connections and memory).
 */
interface Waiter {
  readonly key: string;
  readonly grant: (release: () => void) => void;
}

export type Acquired = { readonly release: () => void } | { readonly refused: 'client-waiting' } | { readonly refused: 'aborted' };

export class Semaphore {
  private active = 0;
  private readonly running = new Map<string, number>();
  private readonly waitingOf = new Map<string, number>();
  private readonly waiting: Waiter[] = [];

  constructor(
    private readonly limit: number,
    readonly perKey = limit,
    readonly maxWaitingPerKey = Number.POSITIVE_INFINITY,
  ) {}

  get inUse(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Slots held by one key now. */
  heldBy(key: string): number {
    return this.running.get(key) ?? 0;
  }

  private bump(map: Map<string, number>, key: string, by: number): void {
    const n = (map.get(key) ?? 0) + by;
    if (n > 0) map.set(key, n);
    else map.delete(key);
  }

  private free(key: string): boolean {
    return this.active < this.limit && this.heldBy(key) < this.perKey;
  }

  private take(key: string): () => void {
    this.active++;
    this.bump(this.running, key, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.bump(this.running, key, -1);
      this.dispatch();
    };
  }

  private dispatch(): void {
    for (let i = 0; i < this.waiting.length && this.active < this.limit; ) {
      const w = this.waiting[i]!;
      if (!this.free(w.key)) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      this.bump(this.waitingOf, w.key, -1);
      w.grant(this.take(w.key));
    }
  }

  /** A slot, once one is free. */
  async acquire(): Promise<() => void> {
    const got = await this.enter('');
    if (!('release' in got)) throw new Error(`semaphore: ${got.refused}`); // no key limits, no signal: cannot happen
    return got.release;
  }

  /** A slot for this key (resolves once one is free for it), or why not; a signal takes a waiter out of the line. */
  async enter(key: string, signal?: AbortSignal): Promise<Acquired> {
    if (this.free(key) && !this.waitingOf.has(key)) return { release: this.take(key) };
    if ((this.waitingOf.get(key) ?? 0) >= this.maxWaitingPerKey) return { refused: 'client-waiting' };
    if (signal?.aborted) return { refused: 'aborted' };
    return new Promise<Acquired>((resolve) => {
      const w: Waiter = {
        key,
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve({ release });
        },
      };
      const onAbort = () => {
        const at = this.waiting.indexOf(w);
        if (at < 0) return;
        this.waiting.splice(at, 1);
        this.bump(this.waitingOf, key, -1);
        resolve({ refused: 'aborted' });
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(w);
      this.bump(this.waitingOf, key, 1);
    });
  }
}
