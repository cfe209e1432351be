/**
 * undici's Agent and request() without undici's index. The index loads every dispatcher, mock,
 * cache store and interceptor: ~110 ms of a one-pass grok-pull whose whole job is often a single
 * conditional GET answered 304 (BENCHMARKS.md). Agent and the request API alone load in ~35 ms,
 * and less once esbuild has bundled them into the commands: these are literal dynamic imports, so
 * the bundle holds them in a chunk of their own, loaded only when a pass makes a request, instead
 * of reading and compiling some thirty CommonJS files from node_modules on every run.
 *
 * The two files are undici internals (undici 7 has no `exports` map, so they can be imported); the
 * version is pinned by package-lock, the bundler fails the build if they move, and
 * test/replica/undici-lite.test.ts checks what they export.
 */
import type * as Undici from 'undici';

type RequestFn = (this: Undici.Dispatcher, opts: Undici.Dispatcher.RequestOptions) => Promise<Undici.Dispatcher.ResponseData>;

export interface UndiciLite {
  readonly Agent: typeof Undici.Agent;
  /** undici's `request`, called with the dispatcher as `this` (the index would put it on Dispatcher.prototype). */
  readonly request: RequestFn;
}

/** Cheap to call again: the module loader caches the modules. */
export async function undiciLite(): Promise<UndiciLite> {
  const [agent, api] = await Promise.all([import('undici/lib/dispatcher/agent.js'), import('undici/lib/api/index.js')]);
  const Agent = agent.default as typeof Undici.Agent;
  const request = (api.default as { request: RequestFn }).request;
  if (typeof Agent !== 'function' || typeof request !== 'function') throw new Error('undici internals moved: undici/lib/dispatcher/agent.js or undici/lib/api/index.js');
  return { Agent, request };
}
