/**
 * Adopting a repository that borrows straight from a sibling (`git clone --bare -s upstream.git
 * fork.git`: its alternates name the sibling's objects) into an objstore, so that nothing is lost at
 * any point:
 *
 *   1. the objstore gets every object the repository's refs reach (fetched from it, which reads
 *      through its alternates), and registers it as a member;
 *   2. its alternates become "objstore, then the old line": the objstore first, nothing dropped;
 *   3. the old line goes only when nothing needs it: the repository is fetched into the objstore again
 *      and its refs did not move meanwhile (so the objstore alone holds all they reach), then its
 *      alternates name the objstore alone, it is slimmed and its connectivity checked (on any failure
 *      up to that last check the old line comes back: a push that landed meanwhile may need it).
 *
 * A crash after (1) leaves a member record the next run lets go; after (2) the repository is a user
 * of the objstore and the next run finishes (3) (`finishAdoption`). The lender itself is never
 * touched here: it joins an objstore like any other repository once nothing borrows from it.
 * The caller holds the repository's lock, then the objstore's (locks.ts).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Git } from '../git/index.js';
import { alternatesFile, writeAlternates as writeAlternatesFile } from '../repo/alternates.js';
import { currentFingerprint, readStoreFingerprint } from './fingerprint.js';
import { assertConnected, copyMemberIn, slimMember } from './join.js';
import { fetchMember } from './refresh.js';
import { virtrefFor } from './virtref.js';

/** The lines of a repository's alternates file (comments and blanks dropped). */
export async function alternatesLines(repo: string): Promise<string[]> {
  const text = await fsp.readFile(alternatesFile(repo), 'utf8').catch(() => '');
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

async function writeAlternates(repo: string, lines: readonly string[]): Promise<void> {
  await writeAlternatesFile(repo, lines.map((l) => `${l}\n`).join(''));
}

export async function adoptAlternates(git: Git, store: string, repo: string): Promise<void> {
  const storeObjects = path.join(store, 'objects');
  const old = (await alternatesLines(repo)).filter((l) => path.resolve(path.join(repo, 'objects'), l) !== storeObjects);
  // Hardlinking would copy only the repository's own files, not what it borrows: always fetch here.
  await copyMemberIn(git, store, repo, false);
  await writeAlternates(repo, [storeObjects, ...old]);
  await finishAdoption(git, store, repo);
}

/**
 * Step (3): drops every alternates line but the objstore's, once the objstore holds everything the
 * repository's refs reach. Returns false (and changes nothing) when its refs moved during the fetch:
 * the next run tries again.
 */
export async function finishAdoption(git: Git, store: string, repo: string): Promise<boolean> {
  const storeObjects = path.join(store, 'objects');
  const lines = await alternatesLines(repo);
  if (lines.length <= 1) return true;
  await fetchMember(git, store, repo);
  const fp = await currentFingerprint(git, repo);
  if (fp === null || (await readStoreFingerprint(store, virtrefFor(repo))) !== fp) return false;
  await writeAlternates(repo, [storeObjects]);
  // Until the last check has passed, any failure puts the old lines back (a superset: always safe). On
  // an origin a push takes no lock of ours: one whose receive-pack read the alternates before the
  // rewrite may still land a ref naming what only the lender has, during the slim or the checks.
  try {
    await assertConnected(git, repo);
    await slimMember(git, repo);
    await assertConnected(git, repo);
  } catch (err) {
    await writeAlternates(repo, lines);
    throw err;
  }
  return true;
}
