/**
 * Names our commands give work in progress, built beside its final place and renamed into it when
 * complete: a clone (`.<repo>.grok-init-<hex>`, replica/execute/mirror-steps.ts), the old copy of a
 * reclone (`grok-old`, replica/execute/apply-action.ts), an objstore being made or removed (`grok-new`,
 * shared/objstore/create.ts; `grok-del`, shared/objstore/remove.ts) and a preloaded one
 * (`grok-preload`, replica/execute/preload-bundle.ts). Such a directory is never a repository of the
 * collection, although a clone looks like one (HEAD, objects/ and refs/) from its first moment, and
 * after a crash it stays until the run that wants that repository again cleans it up.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

const WORK_IN_PROGRESS_RE = /^\..+\.grok-(?:init|old|new|del|preload)-[0-9a-f]{8}/;

export function isWorkInProgress(name: string): boolean {
  return WORK_IN_PROGRESS_RE.test(name);
}

export type WorkKind = 'init' | 'old' | 'new' | 'del' | 'preload';

/** A fresh work-in-progress path for `target`: `.<name>.grok-<kind>-<8 hex>`, beside it or in `dir`. */
export function workPath(target: string, kind: WorkKind, dir = path.dirname(target)): string {
  return path.join(dir, `.${path.basename(target)}.grok-${kind}-${randomBytes(4).toString('hex')}`);
}

/**
 * Removes the `kind` work of `target` that a killed run left beside it (matched exactly, so another
 * target's work is never taken for this one's). Only for a caller holding the lock every maker of
 * that work takes: without it, one of them may be another process's work in the making.
 */
export async function removeWorkLeftovers(target: string, kind: WorkKind): Promise<string[]> {
  const dir = path.dirname(target);
  const prefix = `.${path.basename(target)}.grok-${kind}-`;
  const gone: string[] = [];
  for (const n of await fsp.readdir(dir).catch(() => [] as string[])) {
    if (!n.startsWith(prefix) || !/^[0-9a-f]{8}$/.test(n.slice(prefix.length))) continue;
    await fsp.rm(path.join(dir, n), { recursive: true, force: true });
    gone.push(n);
  }
  return gone;
}
