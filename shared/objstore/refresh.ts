/**
 * Refreshing an objstore from a member: the member's objects and refs are fetched into
 * `refs/virtual/<virtref>/` (as a pack, whatever their number: a loose copy in the objstore would keep
 * the member's own loose copy alive, since `git prune-packed` only drops what a pack holds), the
 * fingerprint the member had before the fetch is recorded, and the member's loose copies of what the
 * objstore now holds are dropped. The caller holds the objstore's lock (and the member's, see locks.ts).
 */
import { mirrorFetch, type Git } from '../git/index.js';
import { currentFingerprint, readStoreFingerprint, writeStoreFingerprint } from './fingerprint.js';
import { isMember } from './members.js';
import { underLocks } from './locks.js';
import { virtrefFor } from './virtref.js';

/** Copies a member's objects and refs into the objstore, and records the fingerprint it fetched. */
export async function fetchMember(git: Git, store: string, member: string): Promise<void> {
  const v = virtrefFor(member);
  const fp = await currentFingerprint(git, member);
  // Its refspec is +refs/*:refs/virtual/<v>/* (addMember): every update is forced.
  await git.run({ ...mirrorFetch(store, v, { forcedRefspecs: true }), config: { 'fetch.unpackLimit': '1', 'transfer.unpackLimit': '1' } });
  if (fp !== null) await writeStoreFingerprint(store, v, fp);
}

/** Loose objects of the member that a pack (its own, or its objstore's) holds too: they go. */
export async function dropLooseCopies(git: Git, member: string): Promise<void> {
  await git.run({ gitDir: member, args: ['prune-packed', '-q'] });
}

/** Fetches a member into the objstore unless the objstore already has what its refs say. */
export async function refreshMember(git: Git, store: string, member: string): Promise<boolean> {
  const fp = await currentFingerprint(git, member);
  if (fp !== null && (await readStoreFingerprint(store, virtrefFor(member))) === fp) return false;
  await fetchMember(git, store, member);
  return true;
}

/**
 * After a fetch into a member (the caller holds its lock): its new objects go to its objstore, under
 * the objstore's lock tried once, and its loose copies of them go. 'busy' when another process
 * (grok-fsck repacking) holds the objstore: that one catches up later; 'not-a-member' when the
 * objstore has no remote for this repository.
 */
export async function feedObjstore(git: Git, store: string, member: string): Promise<'fed' | 'not-a-member' | 'busy'> {
  if (!(await isMember(git, store, member))) return 'not-a-member';
  const r = await underLocks({ stores: [store] }, async () => {
    await fetchMember(git, store, member);
    await dropLooseCopies(git, member);
  });
  if (r.status === 'failed') throw r.error;
  return r.status === 'busy' ? 'busy' : 'fed';
}
