/**
 * grok-manifest's first move in the hook case: when a grok-origin serves this manifest, give it the
 * paths (it recomputes just those entries, O(1) in the collection) and report its answer. When there
 * is no server, or it cannot be reached, say so and let the caller update the file itself.
 */
import { statSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { describeError } from '../../shared/errors.js';
import type { Git } from '../../shared/git/index.js';
import type { Logger } from '../../shared/log.js';
import { isUnder, pathToKey } from '../../shared/manifest/keys.js';
import { readAlternate } from '../../shared/repo/inspect.js';
import { lookupHandoff, sendNotice } from './handoff.js';
import { fetchIntoObjstore } from './objstore-fetch.js';
import type { ManifestRunOptions } from './run.js';

export type HandoffOutcome = { handled: false } | { handled: true; ok: boolean };

/** Path updates only: removals, purges, walks and regenerations stay with the caller. */
export function canHandOff(opts: ManifestRunOptions): boolean {
  return opts.paths.length > 0 && !opts.remove && !opts.purge && !opts.regenerate && !opts.checkExportOk;
}

/**
 * What identifies one version of the manifest file on disk (or null when it is not there). The inode alone is not enough: an atomic write frees one that
 * the next can be given again, with the same size and the mtime the writer sets; the change time is
 * the kernel's own, never set by a writer.
 */
function fileVersion(file: string): string | null {
  try {
    const st = statSync(file, { bigint: true });
    return `${st.ino}:${st.ctimeNs}:${st.mtimeNs}:${st.size}`;
  } catch {
    return null;
  }
}

export async function handOff(opts: ManifestRunOptions, git: Git, log: Logger): Promise<HandoffOutcome> {
  const found = lookupHandoff(opts.manifestFile);
  if ('untrusted' in found) {
    log.warn(`ignoring the grok-origin handoff file: ${found.untrusted}; updating the manifest here`);
    return { handled: false };
  }
  if (!('handoff' in found)) return { handled: false };
  const server = found.handoff;
  const paths = opts.paths.map((p) => path.resolve(p));
  const before = fileVersion(opts.manifestFile);
  let reply;
  try {
    reply = await sendNotice(server, { paths, use_now: opts.useNow, ignore_refs: opts.ignoreRefs });
  } catch (err) {
    log.warn(`grok-origin (pid ${server.pid}) did not take the notice (${describeError(err)}); updating the manifest here`);
    return { handled: false };
  }
  if (reply.status >= 500) {
    log.warn(`grok-origin answered ${reply.status} (${String(reply.body.error ?? '')}); updating the manifest here`);
    return { handled: false };
  }
  const rejected = (reply.body.rejected as { path: string; error: string }[] | undefined) ?? [];
  const failed = (reply.body.failed as { key: string; error: string }[] | undefined) ?? [];
  for (const r of rejected) log.error({ path: r.path }, `${r.path}: ${r.error}`);
  for (const f of failed) log.error({ repo: f.key }, `${f.key}: ${f.error}`);
  if (reply.status !== 200) {
    log.error(`grok-origin refused the notice (${reply.status}): ${String(reply.body.error ?? '')}`);
    return { handled: true, ok: false };
  }
  // grok-origin answers once the write carrying the change is on disk: a change it reports while the
  // file is as it was means whatever answered did not write this manifest.
  const changed = (['added', 'updated', 'removed'] as const).some((k) => Array.isArray(reply.body[k]) && (reply.body[k] as unknown[]).length > 0);
  if (changed && fileVersion(opts.manifestFile) === before) {
    log.warn(`grok-origin (pid ${server.pid}) reported changes but ${opts.manifestFile} was not rewritten; updating the manifest here`);
    return { handled: false };
  }
  log.info(`grok-origin took the notice: ${JSON.stringify({ added: reply.body.added, updated: reply.body.updated, removed: reply.body.removed })}`);
  if (opts.fetchObjstore) {
    // Only repositories the server lists: one it left out (ignored, not exported) is not served, and
    // its objects must not reach an objstore whose siblings are.
    const listed = new Set((['added', 'updated', 'unchanged'] as const).flatMap((k) => (Array.isArray(reply.body[k]) ? (reply.body[k] as string[]) : [])));
    const top = await realpath(opts.toplevel).catch(() => opts.toplevel);
    for (const p of paths) {
      const key = await realpath(p).then((r) => (isUnder(top, r) && r !== top ? pathToKey(top, r) : null), () => null);
      if (key === null || !listed.has(key)) continue;
      const alt = await readAlternate(p);
      if (alt?.objstoreMembers) await fetchIntoObjstore(git, log, p, alt.repo).catch((err: unknown) => log.warn(`objstore fetch for ${p}: ${describeError(err)}`));
    }
  }
  return { handled: true, ok: rejected.length === 0 && failed.length === 0 };
}
