/**
 * grok-fsck's look at how repositories borrow objects outside objstores:
 * - alternates naming a directory outside the toplevel and the objstore directory (a replica fed from
 *   a local path inherited the origin's): on a replica the repository takes those objects in and stops
 *   borrowing (repo/foreign-alternates.ts); on an origin, where an operator may have set it up, a warning
 *   here, and the objstore phase has a served repository take its objects back (what it borrows from
 *   may hold objects that are not published, and upload-pack would serve them);
 * - object directories shared by several repositories (a symlinked objects/): a warning, since they are
 *   kept whole (run.ts gives them a repack that keeps everything and no prune).
 */
import type { RepoFailure } from '../objstore/index.js';
import { describeError } from '../errors.js';
import type { Git } from '../git/index.js';
import { isLockBusy, lockPathFor, withLock } from '../lock.js';
import type { Logger } from '../log.js';
import { discoverRepos } from '../repo/discover.js';
import { foreignAlternates, ownRoots, takeInForeign } from '../repo/foreign-alternates.js';
import { isGitLockBusy } from '../repo/git-locks.js';
import type { Inventory } from './inventory.js';

/** Returns what failed, one line each. */
export async function repairForeignAlternates(git: Git, toplevel: string, objstoreDir: string, replica: boolean, log: Logger): Promise<RepoFailure[]> {
  const roots = ownRoots(toplevel, objstoreDir);
  const problems: RepoFailure[] = [];
  for (const r of (await discoverRepos(toplevel)).repos) {
    const lines = foreignAlternates(r.path, roots);
    if (lines.length === 0) continue;
    const l = log.child({ repo: r.key, action: 'alternates' });
    if (!replica) {
      l.warn(`${r.path} borrows objects from ${lines.join(', ')}, outside the toplevel and the objstore directory: it would break when that is repacked, pruned or moved, and would serve what may not be published; a served repository takes those objects back`);
      continue;
    }
    try {
      const dropped = await withLock(lockPathFor(r.path), () => takeInForeign(git, r.path, roots), { timeoutMs: 0 });
      l.warn(`${r.path}: took in the objects it borrowed from ${dropped.join(', ')} (outside this replica) and stopped borrowing`);
    } catch (err) {
      if (isLockBusy(err) || isGitLockBusy(err)) l.warn(`${r.path} borrows from outside this replica; busy now, next run (${describeError(err)})`);
      else {
        problems.push({ repo: r.path, error: err });
        l.error(`${r.path}: ${describeError(err)}`);
      }
    }
  }
  return problems;
}

export function warnSharedObjects(inv: Inventory, log: Logger): void {
  const groups = new Map<string, string[]>();
  for (const r of inv.repos) if (r.sharedObjects !== null) groups.set(r.sharedObjects, [...(groups.get(r.sharedObjects) ?? []), r.path]);
  for (const [dir, paths] of groups) {
    log.warn(`${paths.join(', ')}: object directory ${dir} is shared (a symlinked objects/): repacked keeping every object, never pruned, never in an objstore`);
  }
}
