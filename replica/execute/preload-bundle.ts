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
import { createObjstore } from '../../shared/objstore/objstore.js';
import { netrcCredentials, type Credentials } from '../source/netrc.js';
import { undiciLite } from '../source/undici-lite.js';
import { workPath } from '../../shared/repo/work-names.js';

export interface PreloadDeps {
  readonly dispatcher?: Dispatcher;
  readonly credentials?: (host: string) => Credentials | null;
  /** The largest bundle accepted, in bytes (default 64 GiB: kernel.org's largest network is far below). */
  readonly maxBytes?: number;
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
    if (some.stdout.toString().trim() === '') throw new GrokError('GROK_ERR_BUNDLE', `${url}: the bundle holds no refs`, { url });
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

/** Streams the bundle into `file` (never into memory: it can be gigabytes); 'absent' on 404/410. */
async function download(url: string, file: string, deps: PreloadDeps): Promise<number | 'absent'> {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new GrokError('GROK_ERR_BUNDLE', `${url}: preload bundles are fetched over http(s) only`, { url });
  }
  const max = deps.maxBytes ?? DEFAULT_MAX_BYTES;
  const headers: Record<string, string> = { 'user-agent': 'grokmirror-ts' };
  const creds = (deps.credentials ?? netrcCredentials)(u.hostname);
  if (creds) headers.authorization = `Basic ${Buffer.from(`${creds.login}:${creds.password}`).toString('base64')}`;
  const lite = await undiciLite();
  // Our own agent, closed when done, as for the manifest (an idle global one holds the process open).
  const own = deps.dispatcher ? null : new lite.Agent({ connect: { timeout: 30_000 } });
  const dispatcher = deps.dispatcher ?? own!;
  try {
    // bodyTimeout bounds a stalled transfer, not a long one: a big bundle may take hours.
    const res = await lite.request.call(dispatcher, { origin: u.origin, path: `${u.pathname}${u.search}`, method: 'GET', headers, headersTimeout: 30_000, bodyTimeout: 60_000 });
    if (res.statusCode === 404 || res.statusCode === 410) {
      await res.body.dump();
      return 'absent';
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new GrokError('GROK_ERR_BUNDLE', `${url}: server answered ${res.statusCode}`, { url, status: res.statusCode });
    }
    const tooLarge = () => new GrokError('GROK_ERR_BUNDLE', `${url}: larger than ${max} bytes (the preload bundle size cap)`, { url, max });
    if (Number(res.headers['content-length'] ?? 0) > max) {
      await res.body.dump(); // reads a little, then closes the connection quietly
      throw tooLarge();
    }
    const fh = await open(file, 'wx');
    let n = 0;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        n += chunk.length;
        if (n > max) throw tooLarge();
        await fh.write(chunk);
      }
    } finally {
      await fh.close();
    }
    return n;
  } finally {
    await own?.destroy();
  }
}
