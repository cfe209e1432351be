/**
 * Carries out one planned action on one repository, under that repository's lock (shared with
 * grokmirror and grok-fsck): init (built aside, renamed into place), reclone (old copy moved aside
 * and removed only once the new one is in place), or update in place.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { matchesAny } from '../../shared/glob.js';
import type { ManifestEntry } from '../../shared/manifest/entry.js';
import { keyToPath } from '../../shared/manifest/keys.js';
import { readFingerprintFile } from '../../shared/repo/fingerprint-file.js';
import type { RepoAction } from '../plan.js';
import {
  fetchRemote,
  fixParams,
  fixRemotes,
  fixSymlinks,
  initBare,
  recordFingerprint,
  recordTimestamps,
  tempCloneDir,
  type RepoOpsContext,
} from './repo-ops.js';

export interface WorkContext extends RepoOpsContext {
  readonly ffonly: readonly string[];
  readonly retries: number;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface WorkDone {
  /** The local manifest's new entry: the remote one with the fingerprint we actually hold. */
  readonly entry: ManifestEntry;
  readonly pulled: boolean;
  readonly cloned: boolean;
  readonly notes: readonly string[];
}

/** Leftovers of a pass that died while building this repository aside. */
async function removeStaleTemps(final: string): Promise<void> {
  const dir = path.dirname(final);
  const prefix = `.${path.basename(final)}.grok-`;
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    if (name.startsWith(prefix)) await fsp.rm(path.join(dir, name), { recursive: true, force: true });
  }
}

/** A complete copy in a temporary directory beside `final`; the caller renames it into place. */
async function buildAside(ctx: WorkContext, a: RepoAction, final: string): Promise<{ tmp: string; fp: string }> {
  const tmp = tempCloneDir(final);
  try {
    await initBare(ctx, tmp);
    await fixRemotes(ctx, tmp, a.key, matchesAny(a.key, ctx.ffonly));
    await fixParams(ctx, tmp, a.entry);
    await fetchRemote(ctx, tmp, ctx.retries, ctx.sleep);
    const fp = await recordFingerprint(ctx, tmp);
    await recordTimestamps(tmp, a.entry);
    return { tmp, fp };
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

export async function doRepoWork(ctx: WorkContext, a: RepoAction): Promise<WorkDone> {
  const final = keyToPath(ctx.toplevel, a.key);
  const notes: string[] = [];
  if (a.op === 'init' || a.op === 'reclone') {
    await removeStaleTemps(final);
    const { tmp, fp } = await buildAside(ctx, a, final);
    if (a.op === 'reclone') {
      const old = path.join(path.dirname(final), `.${path.basename(final)}.grok-old-${randomBytes(4).toString('hex')}`);
      await fsp.rename(final, old);
      await fsp.rename(tmp, final);
      await fsp.rm(old, { recursive: true, force: true });
    } else {
      await fsp.rename(tmp, final);
    }
    notes.push(...(await fixSymlinks(ctx, final, a.entry)));
    return { entry: { ...a.entry, fingerprint: fp }, pulled: true, cloned: true, notes };
  }
  if (a.fixRemotes) await fixRemotes(ctx, final, a.key, matchesAny(a.key, ctx.ffonly));
  if (a.fixParams) {
    await fixParams(ctx, final, a.entry);
    notes.push(...(await fixSymlinks(ctx, final, a.entry)));
  }
  let fp = readFingerprintFile(final) ?? a.entry.fingerprint;
  if (a.pull) {
    await fetchRemote(ctx, final, ctx.retries, ctx.sleep);
    fp = await recordFingerprint(ctx, final);
    await recordTimestamps(final, a.entry);
  }
  return { entry: { ...a.entry, fingerprint: fp }, pulled: a.pull, cloned: false, notes };
}
