/**
 * After a fetch that changed a repository: give its new objects to its objstore (when it is a
 * member; skipped when grok-fsck holds the objstore, which will catch up), repack when count-objects
 * says it is worth it (never for a partial clone), and pack its refs. Repacks use -A: unreachable objects become loose rather
 * than being dropped, because another repository may borrow them.
 */
import { describeError } from '../../shared/errors.js';
import type { Git } from '../../shared/git/index.js';
import { copyMemberIn, dropLooseCopies, feedObjstore, readStoreFingerprint, underLocks } from '../../shared/objstore/index.js';
import { virtrefFor } from '../../shared/objstore/virtref.js';
import { readAlternate } from '../../shared/repo/inspect.js';
import { countLooseRefs, estimateObjectCounts } from '../../shared/repo/object-counts.js';
import { isPromisorRepo } from '../../shared/repo/promisor.js';
import { repackLevel, type RepackLevel } from '../../shared/repo/repack-level.js';

/** Loose refs that make pack-refs worth a process. */
const LOOSE_REFS_TO_PACK = 64;

export interface HousekeepingDone {
  readonly objstoreFed: boolean;
  readonly repack: RepackLevel;
  readonly notes: readonly string[];
}

export async function housekeep(git: Git, repo: string): Promise<HousekeepingDone> {
  const notes: string[] = [];
  let objstoreFed = false;
  const alt = await readAlternate(repo);
  if (alt?.objstoreMembers) {
    try {
      objstoreFed = (await feedObjstore(git, alt.repo, repo)) === 'fed';
    } catch (err) {
      notes.push(`objstore fetch failed: ${describeError(err)}`);
    }
  }
  // Judged from the files (as git gc --auto does): two processes per fetched repository saved.
  // A partial clone is not repacked here (promisor.ts); its fetched packs stay as git wrote them.
  const level = isPromisorRepo(repo) ? 'none' : repackLevel(estimateObjectCounts(repo));
  if (level !== 'none') {
    const borrows = alt !== null;
    const args = level === 'full' ? ['repack', '-q', '-A', '-d', '-l', ...(borrows ? [] : ['-b'])] : ['repack', '-q', '-d', '-l'];
    await git.run({ gitDir: repo, args });
  }
  if (level !== 'none' || countLooseRefs(repo, LOOSE_REFS_TO_PACK) >= LOOSE_REFS_TO_PACK) await git.run({ gitDir: repo, args: ['pack-refs', '--all'] });
  return { objstoreFed, repack: level, notes };
}

/**
 * For a public repository whose fetch changed nothing (so `housekeep` does not run): a pass cut short
 * between its fetch (or clone) and its objstore step left the objstore behind, with no record of it or
 * an older one (and perhaps that record's temp file). The redo's fetch brings nothing, so this compares
 * the objstore's record with the repository's fingerprint (one small file read) and, when they differ,
 * joins it again (each step of a join is idempotent) under the objstore's lock, waited for a bounded
 * time as an inner lock. Busy: the next pass, or grok-fsck, catches up.
 */
export async function catchUpObjstore(git: Git, repo: string, fingerprint: string): Promise<string[]> {
  const alt = await readAlternate(repo);
  if (!alt?.objstoreMembers) return [];
  if ((await readStoreFingerprint(alt.repo, virtrefFor(repo))) === fingerprint) return [];
  const r = await underLocks({ stores: [alt.repo] }, async () => {
    await copyMemberIn(git, alt.repo, repo, false);
    await dropLooseCopies(git, repo);
  }, { outerMs: 60_000 });
  return [r.status === 'done' ? 'its objstore had been left behind by a pass cut short; caught up' : `its objstore is behind (${describeError(r.error)}); the next pass or grok-fsck catches up`];
}
