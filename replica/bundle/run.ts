/**
 * One grok-bundle run: the manifest's repositories matching -i get a clone.bundle each in the outdir
 * (made when changed, see make-bundle.ts), and bundles of repositories gone from the manifest are
 * removed. One run per outdir at a time (a lock beside the outdir); each repository is bundled under
 * its own lock.
 */
import { promises as fsp, realpathSync } from 'node:fs';
import path from 'node:path';
import type { CoreConfig } from '../../shared/config/schema.js';
import { GrokError } from '../../shared/errors.js';
import type { Git } from '../../shared/git/index.js';
import { isLockBusy, lockPathFor, withLock } from '../../shared/lock.js';
import type { Logger } from '../../shared/log.js';
import { readManifestFile } from '../../shared/manifest/io.js';
import { isUnder, keyToPath } from '../../shared/manifest/keys.js';
import { parseGitArgs, parseRevListArgs } from './args.js';
import { makeBundle, type MakeBundleResult } from './make-bundle.js';
import { planBundles, staleBundleDirs } from './plan.js';
import { argsIdOf, readRecord } from './record.js';
import { listBundleDirs, removeBundleDir } from './stale.js';

export interface BundleRunOptions {
  readonly outdir: string;
  /** -g, as typed. */
  readonly gitargs: string;
  /** -r, as typed. */
  readonly revlistargs: string;
  /** -s, in GiB. */
  readonly maxSizeGiB: number;
  readonly include: readonly string[];
}

export interface BundleDeps {
  readonly git: Git;
  readonly log: Logger;
}

export interface BundleRunResult {
  readonly status: 'done' | 'busy';
  /** Every repository's outcome, by manifest key. */
  readonly outcomes: ReadonlyMap<string, MakeBundleResult>;
  /** Bundle directories removed because their repository left the manifest. */
  readonly removed: readonly string[];
}

/** A path with symlinks resolved as far as it exists (the rest as given). */
function resolvedPath(p: string): string {
  const abs = path.resolve(p);
  for (let cur = abs, rest = ''; ; rest = path.join(path.basename(cur), rest), cur = path.dirname(cur)) {
    try {
      return path.join(realpathSync(cur), rest);
    } catch {
      if (cur === path.dirname(cur)) return abs;
    }
  }
}

export async function runBundle(core: Pick<CoreConfig, 'toplevel' | 'manifest' | 'manifest_max_size' | 'objstore'>, opts: BundleRunOptions, deps: BundleDeps): Promise<BundleRunResult> {
  const config = parseGitArgs(opts.gitargs);
  const revlist = parseRevListArgs(opts.revlistargs);
  if (!Number.isFinite(opts.maxSizeGiB) || opts.maxSizeGiB < 0) {
    throw new GrokError('GROK_ERR_USAGE', `-s ${opts.maxSizeGiB}: the maximum size is a number of GiB, 0 or more`);
  }
  const toplevel = await fsp.realpath(core.toplevel).catch((err: unknown) => {
    throw new GrokError('GROK_ERR_TOPLEVEL', `toplevel ${core.toplevel} is unusable: ${(err as Error).message}`, { toplevel: core.toplevel }, { cause: err });
  });
  const outdir = path.resolve(opts.outdir);
  const real = resolvedPath(outdir);
  // The search for stale bundles walks the outdir: through every repository, were the toplevel in it.
  if (isUnder(real, toplevel)) {
    throw new GrokError('GROK_ERR_USAGE', `-o ${outdir}: the bundle directory may not be the toplevel ${toplevel} or contain it`);
  }
  // Inside, bundle directories would sit among (or inside) repositories: a "repository" named by a
  // bundle path, files in a repository's refs/ that clients see as broken refs.
  for (const [what, dir] of [['toplevel', toplevel], ['objstore directory', resolvedPath(core.objstore)]] as const) {
    if (isUnder(dir, real)) throw new GrokError('GROK_ERR_USAGE', `-o ${outdir}: the bundle directory may not be inside the ${what} ${dir}`);
  }
  const parsed = await readManifestFile(core.manifest, core.manifest_max_size);
  if (!parsed) throw new GrokError('GROK_ERR_MANIFEST_FETCH', `${core.manifest}: no manifest (run grok-manifest or grok-pull first)`, { file: core.manifest });
  await fsp.mkdir(outdir, { recursive: true });
  try {
    return await withLock(lockPathFor(outdir), () => bundlePass(toplevel, outdir, [...parsed.entries.keys()], { ...opts, config, revlist }, deps), { timeoutMs: 0 });
  } catch (err) {
    if (isLockBusy(err)) return { status: 'busy', outcomes: new Map(), removed: [] };
    throw err;
  }
}

async function bundlePass(
  toplevel: string,
  outdir: string,
  keys: readonly string[],
  opts: BundleRunOptions & { config: Record<string, string>; revlist: string[] },
  deps: BundleDeps,
): Promise<BundleRunResult> {
  const { git, log } = deps;
  const plan = planBundles(keys, opts.include, (dir) => readRecord(path.join(outdir, dir))?.repo ?? null);
  for (const c of plan.refused) log.warn({ repo: c.key }, `  skipped: ${c.key}: ${c.why}`);
  // Stale directories go first: one a repository's older layout left can be in the way of another's.
  // An empty manifest is far more likely a broken one than a mirror that dropped everything.
  const removed = keys.length === 0 ? [] : staleBundleDirs(await listBundleDirs(outdir), plan.owned);
  for (const rel of removed) {
    await removeBundleDir(outdir, rel);
    log.info({ action: 'remove' }, `  removed: ${rel} (no repository of the manifest owns it)`);
  }
  const argsId = argsIdOf(opts.config, opts.revlist);
  const maxBytes = opts.maxSizeGiB * 1024 ** 3;
  const outcomes = new Map<string, MakeBundleResult>();
  for (const t of plan.targets) {
    const res = await makeBundle(git, keyToPath(toplevel, t.key), outdir, t.dir, { key: t.key, config: opts.config, revlist: opts.revlist, argsId, maxBytes });
    outcomes.set(t.key, res);
    const l = log.child({ repo: t.key, action: 'bundle' });
    if (res.status === 'written') l.info(` generate: ${t.key}`);
    else if (res.status === 'too-large') l.info(`  skipped: ${t.key} (${(res.bytes / 1024 ** 3).toFixed(2)} GiB > ${opts.maxSizeGiB} GiB)`);
    else if (res.status === 'failed') l.error(`   failed: ${t.key}: ${res.reason}`);
    else l.debug(`  skipped: ${t.key} (${res.status})`);
  }
  return { status: 'done', outcomes, removed };
}
