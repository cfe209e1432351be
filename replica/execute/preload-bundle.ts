/**
 * A forkgroup's objstore preloaded from the origin's bundle (`[remote] preload_bundle_url`, written by
 * grok-fsck with `[fsck] preload_bundle_outdir`, see shared/fsck/bundle.ts): one static download of the
 * whole fork network instead of its history cloned from the origin repository by repository. Used when
 * a forkgroup's first repository is about to be cloned and no local sibling can seed the objstore.
 *
 * The bundle's refs land under `refs/preload/*`, never `refs/virtual/*`: they name the origin's members
 * (virtrefs of the origin's paths), and under refs/virtual/ grok-fsck would take them for members that
 * left and delete them, nor may they count as a delta island. refs/preload/* only keeps the objects
 * alive until the replica's own members have been fetched into refs/virtual/; grok-fsck may then drop
 * it (see the report of this change).
 *
 * The objstore is built beside its final path and renamed into place only when it holds the bundle:
 * nobody borrows from a half-filled objstore, and a preload that dies is simply tried again. Anything
 * going wrong is a result, never a failed clone: the clone then goes ahead the ordinary way.
 */
import { existsSync } from 'node:fs';
import { open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Dispatcher } from 'undici';
import { describeError, GrokError } from '../../shared/errors.js';
import { untrusted, type Git } from '../../shared/git/index.js';
import { isLockBusy, lockPathFor, withLock } from '../../shared/lock.js';
import { createObjstore } from '../../shared/objstore/index.js';
import { redactUrls } from '../../shared/safe-text.js';
import { httpTarget, type CredentialsLookup } from '../source/auth.js';
import { TransferGuard, type RateLimit } from '../source/transfer.js';
import { undiciLite } from '../source/undici-lite.js';
import { workPath } from '../../shared/repo/work-names.js';
import { BundleHeaderCheck } from './bundle-header.js';

export interface PreloadDeps {
  readonly dispatcher?: Dispatcher;
  readonly credentials?: CredentialsLookup;
  /** The largest bundle accepted, in bytes ([remote] preload_bundle_max_size; default 64 GiB). */
  readonly maxBytes?: number;
  /** The minimum rate ([remote] low_speed_limit, low_speed_time) and the download's deadline ([remote] preload_bundle_timeout). */
  readonly rate?: RateLimit;
  readonly timeoutMs?: number;
}

export type PreloadResult =
  | { readonly status: 'preloaded'; readonly bytes: number }
  /** The origin publishes no bundle for this forkgroup (404 or 410). */
  | { readonly status: 'absent' }
  /** The objstore exists (made meanwhile by someone else). */
  | { readonly status: 'exists' }
  /** Another process holds the objstore's lock. */
  | { readonly status: 'busy' }
  | { readonly status: 'failed'; readonly reason: string };

const DEFAULT_MAX_BYTES = 64 * 1024 ** 3;
const DEFAULT_RATE: RateLimit = { lowSpeedLimit: 1000, lowSpeedTimeMs: 120_000 };
const DEFAULT_TIMEOUT_MS = 6 * 60 * 60 * 1000;
/** The header of a network's bundle: its refs, each under MAX_HEADER_LINE; 256 MiB is millions of them. */
const MAX_HEADER_BYTES = 256 * 1024 ** 2;
// Unpacking a whole fork network's bundle can outlast git's default command timeout.
const FETCH_TIMEOUT_MS = 6 * 60 * 60 * 1000;

export function bundleUrl(base: string, name: string): string {
  return `${base.replace(/\/+$/, '')}/${encodeURIComponent(name)}.bundle`;
}

/** Creates the objstore at `objstore` (named `name`) from `<baseUrl>/<name>.bundle`, if there is one. */
export async function preloadObjstore(git: Git, objstore: string, name: string, baseUrl: string, deps: PreloadDeps = {}): Promise<PreloadResult> {
  try {
    return await withLock(lockPathFor(objstore), () => preloadLocked(git, objstore, bundleUrl(baseUrl, name), deps), { timeoutMs: 0 });
  } catch (err) {
    if (isLockBusy(err)) return { status: 'busy' };
    return { status: 'failed', reason: describeError(err) };
  }
}

async function preloadLocked(git: Git, objstore: string, url: string, deps: PreloadDeps): Promise<PreloadResult> {
  if (existsSync(objstore)) return { status: 'exists' };
  const parent = path.dirname(objstore);
  await removeLeftovers(parent, path.basename(objstore));
  const aside = workPath(objstore, 'preload');
  const file = `${aside}.bundle`;
  try {
    const bytes = await download(url, file, deps);
    if (bytes === 'absent') return { status: 'absent' };
    await createObjstore(git, aside);
    // verify: a bundle from elsewhere must be complete (no prerequisites) before anything is unpacked.
    await git.run({ gitDir: aside, args: ['bundle', 'verify', untrusted(file)] });
    // --no-tags: tags the bundle's history points at would otherwise also land in refs/tags/.
    await git.run({ gitDir: aside, args: ['fetch', '-q', '--no-tags', untrusted(file), '+refs/*:refs/preload/*'], timeoutMs: FETCH_TIMEOUT_MS });
    const some = await git.run({ gitDir: aside, args: ['for-each-ref', '--count=1', '--format=%(refname)', 'refs/preload/'] });
    if (some.stdout.toString().trim() === '') throw new GrokError('GROK_ERR_BUNDLE', `${redactUrls(url)}: the bundle holds no refs`, { url: redactUrls(url) });
    // A network's bundle carries tens of thousands of refs: one packed-refs file, not as many files.
    await git.run({ gitDir: aside, args: ['pack-refs', '--all'] });
    try {
      await rename(aside, objstore);
    } catch (err) {
      if (existsSync(objstore)) return { status: 'exists' }; // finally removes ours
      throw err;
    }
    return { status: 'preloaded', bytes };
  } finally {
    await rm(file, { force: true });
    await rm(aside, { recursive: true, force: true });
  }
}

/**
 * Leftovers of a preload of this objstore that was killed: the aside objstore, its bundle, and the
 * temp directory createObjstore builds the aside one in. Matched exactly, so that another
 * forkgroup's files are never taken for ours whatever its name.
 */
async function removeLeftovers(parent: string, base: string): Promise<void> {
  const esc = base.replace(/[.]/g, '\\.');
  const re = new RegExp(`^\\.\\.?${esc}\\.grok-preload-[0-9a-f]{8}(?:\\.bundle|\\.grok-new-[0-9a-f]{8})?$`);
  for (const f of await readdir(parent).catch(() => [] as string[])) {
    if (re.test(f)) await rm(path.join(parent, f), { recursive: true, force: true });
  }
}

/**
 * Streams the bundle into `file` (never into memory: it can be gigabytes); 'absent' on 404/410.
 * Nothing is written until the header has proved to be a complete bundle's; the transfer is given up
 * when it falls below the minimum rate or passes its deadline (it holds the objstore's lock meanwhile).
 */
async function download(url: string, file: string, deps: PreloadDeps): Promise<number | 'absent'> {
  const shown = redactUrls(url);
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new GrokError('GROK_ERR_BUNDLE', `${shown}: preload bundles are fetched over http(s) only`, { url: shown });
  }
  const max = deps.maxBytes ?? DEFAULT_MAX_BYTES;
  const target = httpTarget(url, deps.credentials);
  const headers: Record<string, string> = { 'user-agent': 'grokmirror-ts', ...(target.authorization ? { authorization: target.authorization } : {}) };
  const lite = await undiciLite();
  // Our own agent, closed when done, as for the manifest (an idle global one holds the process open).
  const own = deps.dispatcher ? null : new lite.Agent({ connect: { timeout: 30_000 } });
  const dispatcher = deps.dispatcher ?? own!;
  const guard = new TransferGuard(deps.rate ?? DEFAULT_RATE, deps.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'preload_bundle_timeout');
  const fail = (why: string, data: Record<string, unknown> = {}) => new GrokError('GROK_ERR_BUNDLE', `${shown}: ${why}`, { url: shown, ...data });
  try {
    const res = await lite.request.call(dispatcher, { origin: target.origin, path: target.path, method: 'GET', headers, headersTimeout: 30_000, bodyTimeout: 60_000, signal: guard.signal });
    if (res.statusCode === 404 || res.statusCode === 410) {
      await res.body.dump();
      return 'absent';
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw fail(`server answered ${res.statusCode}`, { status: res.statusCode });
    }
    const tooLarge = () => fail(`larger than ${max} bytes (the preload bundle size cap, [remote] preload_bundle_max_size)`, { max });
    if (Number(res.headers['content-length'] ?? 0) > max) {
      await res.body.dump(); // reads a little, then closes the connection quietly
      throw tooLarge();
    }
    return await writeChecked(res.body as AsyncIterable<Buffer>, file, max, guard, tooLarge, fail);
  } catch (err) {
    if (guard.failure !== null) throw fail(`download given up: ${guard.failure}`);
    throw err;
  } finally {
    guard.stop();
    await own?.destroy();
  }
}

/** The body into `file`: held in memory until the header is judged good, then streamed. */
async function writeChecked(body: AsyncIterable<Buffer>, file: string, max: number, guard: TransferGuard, tooLarge: () => Error, fail: (why: string) => Error): Promise<number> {
  const header = new BundleHeaderCheck(Math.min(max, MAX_HEADER_BYTES));
  let held: Buffer[] | null = [];
  let fh: Awaited<ReturnType<typeof open>> | null = null;
  let n = 0;
  try {
    for await (const chunk of body) {
      guard.count(chunk.length);
      n += chunk.length;
      if (n > max) throw tooLarge();
      if (held === null) {
        await fh!.write(chunk);
        continue;
      }
      held.push(chunk);
      const h = header.push(chunk);
      if (h.status === 'bad') throw fail(`not a complete git bundle: it ${h.why}`);
      if (h.status === 'ok') {
        fh = await open(file, 'wx');
        for (const c of held) await fh.write(c);
        held = null;
      }
    }
    if (held !== null) throw fail('not a complete git bundle: it ends inside its header');
    return n;
  } finally {
    await fh?.close();
  }
}
