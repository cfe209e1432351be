/**
 * undici's Agent and request() without undici's index. The index loads every dispatcher, mock,
 * cache store and interceptor: ~110 ms of a one-pass grok-pull whose whole job is often a single
 * conditional GET answered 304 (BENCHMARKS.md). Agent and the request API alone load in ~35 ms.
 *
 * The two files are undici internals (undici 7 has no `exports` map, so they can be required); the
 * version is pinned by package-lock, and test/replica/undici-lite.test.ts checks that they are still
 * where we expect. If a future undici moves them, we fall back to the index: slower, never broken.
 */
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

type RequestFn = (this: Undici.Dispatcher, opts: Undici.Dispatcher.RequestOptions) => Promise<Undici.Dispatcher.ResponseData>;

export interface UndiciLite {
  readonly Agent: typeof Undici.Agent;
  /** undici's `request`, called with the dispatcher as `this` (the index would put it on Dispatcher.prototype). */
  readonly request: RequestFn;
  /** true when the internals could not be found and the full index was loaded */
  readonly fallback: boolean;
}

/** Cheap to call again: require() caches the modules. */
export function undiciLite(): UndiciLite {
  const require = createRequire(import.meta.url);
  try {
    const Agent = require('undici/lib/dispatcher/agent') as typeof Undici.Agent;
    const request = (require('undici/lib/api') as { request: RequestFn }).request;
    if (typeof Agent !== 'function' || typeof request !== 'function') throw new Error('unexpected undici layout');
    return { Agent, request, fallback: false };
  } catch {
    const full = require('undici') as typeof Undici;
    return { Agent: full.Agent, request: full.Dispatcher.prototype.request as unknown as RequestFn, fallback: true };
  }
}
