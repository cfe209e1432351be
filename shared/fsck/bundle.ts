/**
 * Preload bundles (`[fsck] preload_bundle_outdir`): after a full repack, grok-fsck writes each
 * objstore as `<outdir>/<name>.bundle` (`git bundle create --all`, as grokmirror 2.x does), so that a
 * new replica can fill that objstore from one static download instead of fetching every fork's
 * history from the origin (replica/execute/preload-bundle.ts consumes it). The bundle carries the
 * objstore's refs as they are, `refs/virtual/<virtref>/...`; git accepts any ref under refs/ in a bundle.
 *
 * Replicas may be downloading the current bundle while a new one is written, so the new one is built
 * in a temp file beside it and renamed over it only when complete. Callers hold the objstore's lock
 * (grok-fsck does while it repacks), which is also why leftovers of an earlier, killed write of this
 * same bundle can be removed here without racing anyone.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { GrokError } from '../errors.js';
import { atomicReplace } from '../fs/atomic.js';
import { untrusted, type Git } from '../git/index.js';

export type BundleResult =
  | { readonly status: 'written'; readonly path: string }
  /** The objstore has no refs (no members left): no bundle, and a stale one is removed. */
  | { readonly status: 'empty'; readonly removedStale: boolean };

// An origin names objstores by UUID, a replica by the manifest's forkgroup: either way a plain name,
// which is all that may become a file name in a directory replicas download from.
export const PRELOAD_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;

// Writing a whole fork network's history can take far longer than git's default command timeout.
const BUNDLE_TIMEOUT_MS = 6 * 60 * 60 * 1000;

export function bundlePath(outdir: string, name: string): string {
  return path.join(outdir, `${name}.bundle`);
}

/**
 * Writes `<outdir>/<name>.bundle` from the objstore repository at `objstore`. An objstore without refs
 * gets no bundle (git refuses to write an empty one) and loses any old one: it has no members left and
 * grok-fsck is about to remove it, and a bundle of history nobody here has any more would only make
 * new replicas download objects they will never use.
 */
export async function writePreloadBundle(git: Git, objstore: string, name: string, outdir: string): Promise<BundleResult> {
  if (!PRELOAD_NAME_RE.test(name)) {
    throw new GrokError('GROK_ERR_BUNDLE', `${JSON.stringify(name)} is not a plain name for a preload bundle`, { name });
  }
  const target = bundlePath(outdir, name);
  await mkdir(outdir, { recursive: true });
  await removeLeftovers(outdir, name);
  const someRef = await git.run({ gitDir: objstore, args: ['for-each-ref', '--count=1', '--format=%(refname)'] });
  if (someRef.stdout.toString().trim() === '') {
    const had = await rm(target).then(() => true, () => false);
    return { status: 'empty', removedStale: had };
  }
  await atomicReplace(target, async (tmp) => {
    await git.run({ gitDir: objstore, args: ['bundle', 'create', untrusted(tmp), '--all'], timeoutMs: BUNDLE_TIMEOUT_MS });
  });
  return { status: 'written', path: target };
}

/**
 * Temp files of a write that was killed: ours (`.<name>.bundle.<hex>.tmp`, see atomicReplace) and
 * git's own lock file beside it (`<tmp>.lock`, which git renames to `<tmp>` when it finishes).
 */
async function removeLeftovers(outdir: string, name: string): Promise<void> {
  // Exact, so that the leftovers of "a" never match a temp file of a bundle named "a.bundle.x".
  const re = new RegExp(`^\\.${name.replace(/\./g, '\\.')}\\.bundle\\.[0-9a-f]+\\.tmp(?:\\.lock)?$`);
  for (const f of await readdir(outdir)) {
    if (re.test(f)) await rm(path.join(outdir, f), { force: true });
  }
}
