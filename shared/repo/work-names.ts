/**
 * Names our commands give work in progress, built beside its final place and renamed into it when
 * complete: a clone (`.<repo>.grok-init-<hex>`, replica/execute/repo-ops.ts), the old copy of a
 * reclone (`grok-old`, replica/execute/repo-work.ts), an objstore being made or removed (`grok-new`,
 * shared/objstore/objstore.ts; `grok-del`, shared/fsck/objstore-ops.ts) and a preloaded one
 * (`grok-preload`, replica/execute/preload-bundle.ts). Such a directory is never a repository of the
 * collection, although a clone looks like one (HEAD, objects/ and refs/) from its first moment, and
 * after a crash it stays until the run that wants that repository again cleans it up.
 */
const WORK_IN_PROGRESS_RE = /^\..+\.grok-(?:init|old|new|del|preload)-[0-9a-f]{8}/;

export function isWorkInProgress(name: string): boolean {
  return WORK_IN_PROGRESS_RE.test(name);
}
