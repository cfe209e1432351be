/**
 * Bundles over HTTP, read-only, for clients that start from one static download instead of a fetch:
 * - grok-bundle's clone.bundle files ([origin] bundle_dir) at `/<repo>/clone.bundle`, the URL
 *   Android's repo tool derives from a project's remote URL, with or without the repository's
 *   ".git", and at `/_grok/bundles/<repo>/clone.bundle`;
 * - grok-fsck's objstore preload bundles ([origin] preload_bundle_dir) at
 *   `/_grok/preload/<name>.bundle`, what a replica's `[remote] preload_bundle_url` names.
 *
 * A URL never becomes a file path by itself: a clone.bundle is looked for only for a repository the
 * manifest lists, at the path grok-bundle's layout gives its key (shared/bundle-layout.ts), and only
 * when the record beside it names no other repository; a preload bundle only under a plain name. The
 * file found must then really lie in the configured directory once symlinks are resolved. Anything
 * else is a 404; there are no directory listings.
 */
import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PRELOAD_NAME_RE } from '../../../shared/fsck/bundle.js';
import { hasExportOk } from '../../../shared/repo/bare.js';
import { isUnder, keyToPath } from '../../../shared/manifest/keys.js';
import { BUNDLE_FILE, bundleDirFor, parseRecord, RECORD_FILE } from '../../../shared/bundle-layout.js';
import type { ManifestStore } from '../manifest-store.js';
import { sendFile } from '../file-reply.js';

export interface BundleRouteDeps {
  readonly toplevel: string;
  readonly store: ManifestStore;
  readonly checkExportOk: boolean;
  /** grok-bundle's outdir; empty: not served. */
  readonly bundleDir: string;
  /** grok-fsck's preload_bundle_outdir; empty: not served. */
  readonly preloadDir: string;
}

export const CLONE_BUNDLE_SUFFIX = `/${BUNDLE_FILE}`;
const BUNDLE_TYPE = 'application/x-git-bundle';
const PRELOAD_PREFIX = '/_grok/preload/';
const BUNDLES_PREFIX = '/_grok/bundles';

const notFound = (reply: FastifyReply) => reply.code(404).type('text/plain').send('Not found\n');

/** The decoded path of a request, or null when it is badly encoded or holds what no path of ours does. */
function decodedPath(req: FastifyRequest): string | null {
  let p: string;
  try {
    p = decodeURIComponent((req.url.split('?')[0] ?? '').split('#')[0] ?? '');
  } catch {
    return null;
  }
  return /[\0\\]/.test(p) ? null : p;
}

/** `file` if it resolves to a file inside `dir` (symlinks followed on both sides), else null. */
async function inside(dir: string, file: string): Promise<string | null> {
  try {
    const [root, real] = await Promise.all([realpath(dir), realpath(file)]);
    return isUnder(root, real) && real !== root ? real : null;
  } catch {
    return null;
  }
}

/** Whether the bundle in `dir` is `key`'s: its record names it, or names no repository (grokmirror's, older ones). */
async function bundleIsOf(dir: string, key: string): Promise<boolean> {
  const text = await readFile(path.join(dir, RECORD_FILE), 'utf8').catch(() => null);
  const owner = text === null ? null : (parseRecord(text)?.repo ?? null);
  return owner === null || owner === key;
}

/**
 * Serves the clone.bundle of the repository a URL path names (`base` is the path without
 * "/clone.bundle", decoded); called by the git HTTP route, which owns every other repository URL.
 */
export function cloneBundleServer(deps: BundleRouteDeps): ((req: FastifyRequest, reply: FastifyReply, base: string) => Promise<FastifyReply>) | null {
  if (deps.bundleDir === '') return null;
  return async (req, reply, base) => {
    for (const key of [base, `${base}.git`]) {
      if ((await deps.store.lookup(key)) === undefined) continue;
      const dir = path.join(deps.bundleDir, bundleDirFor(key));
      // `/a` and `/a.git` share a directory: its record says whose bundle it holds.
      if (!(await bundleIsOf(dir, key))) continue;
      if (deps.checkExportOk && !(await hasExportOk(keyToPath(deps.toplevel, key)))) return notFound(reply);
      const file = await inside(deps.bundleDir, path.join(dir, BUNDLE_FILE));
      if (file === null) return notFound(reply);
      return (await sendFile(req, reply, file, BUNDLE_TYPE)) === 'sent' ? reply : notFound(reply);
    }
    return notFound(reply);
  };
}

export function bundleRoutes(app: FastifyInstance, deps: BundleRouteDeps): void {
  const cloneBundle = cloneBundleServer(deps);
  app.get(`${BUNDLES_PREFIX}/*`, async (req, reply) => {
    const p = decodedPath(req);
    if (!cloneBundle || p === null || !p.endsWith(CLONE_BUNDLE_SUFFIX)) return notFound(reply);
    return cloneBundle(req, reply, p.slice(BUNDLES_PREFIX.length, -CLONE_BUNDLE_SUFFIX.length));
  });
  app.get(`${PRELOAD_PREFIX}*`, async (req, reply) => {
    const p = decodedPath(req);
    const name = p?.slice(PRELOAD_PREFIX.length).replace(/\.bundle$/, '');
    if (deps.preloadDir === '' || p === null || !p.endsWith('.bundle') || !PRELOAD_NAME_RE.test(name!) || name!.includes('..')) return notFound(reply);
    const file = await inside(deps.preloadDir, path.join(deps.preloadDir, `${name}.bundle`));
    if (file === null) return notFound(reply);
    return (await sendFile(req, reply, file, BUNDLE_TYPE)) === 'sent' ? reply : notFound(reply);
  });
}
