/**
 * A member leaves its objstore: if it still borrows from it, it first takes back every object it
 * needs, then its alternates go; only then does the objstore forget it (its refs/virtual/<v>/, remote,
 * fingerprint record and marker line). The caller holds the member's lock, then the objstore's.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { untrusted, type Git } from '../git/index.js';
import { alternatesFile } from '../repo/alternates.js';
import { removeStoreFingerprint } from './fingerprint.js';
import { assertConnected } from './join.js';
import { deleteRefsUnder, readMembers, writeMembers } from './members.js';

/**
 * A repository stops borrowing: it first takes back every object it needs (`repack -a` without `-l`
 * copies borrowed objects in), then its alternates go, then its connectivity is checked.
 */
export async function takeBack(git: Git, repo: string): Promise<void> {
  // -k: its object directory may be shared with repositories whose refs it does not see.
  await git.run({ gitDir: repo, args: ['repack', '-q', '-a', '-d', '-k'] });
  await fsp.rm(alternatesFile(repo), { force: true });
  await assertConnected(git, repo);
}

export async function leaveStore(git: Git, store: string, v: string, member: string | null, stillBorrows: boolean): Promise<void> {
  if (member && stillBorrows) await takeBack(git, member);
  await deleteRefsUnder(git, store, `refs/virtual/${v}/`);
  await git.run({ gitDir: store, args: ['config', '--remove-section', untrusted(`remote.${v}`)], okExit: [128] });
  await removeStoreFingerprint(store, v);
  if (member) await writeMembers(store, (await readMembers(store)).filter((m) => m !== member));
}

/**
 * Makes a user of the objstore that is not one of its members (a private repository, or one that
 * could not join yet) independent of anything the objstore is about to prune: every object its refs
 * reach that the objstore's refs do not (`rev-list --not --alternate-refs`) is copied into a pack of
 * its own, borrowed ones included. Afterwards the objstore's refs keep alive all it still borrows, so
 * a private user no longer has to block pruning (grokmirror kept every unreachable object for ever
 * as soon as one private repository borrowed). The caller holds the user's lock until the objstore's
 * prune is over, so no fetch can make it depend on an unreachable object in between.
 */
export async function makeSelfSufficient(git: Git, user: string): Promise<number> {
  // All of the objstore's refs count as "have" here, whatever core.alternateRefsPrefixes narrows
  // negotiation to for this repository.
  const list = await git.run({ gitDir: user, config: { 'core.alternateRefsPrefixes': '' }, args: ['rev-list', '--objects', '--all', '--not', '--alternate-refs'] });
  if (list.stdout.length === 0) return 0;
  const n = list.stdout.toString('latin1').split('\n').filter((l) => l !== '').length;
  await git.run({ gitDir: user, args: ['pack-objects', '-q', path.join(user, 'objects', 'pack', 'pack')], input: list.stdout });
  return n;
}
