/**
 * Object-store ("objstore") repositories: one bare repository holding the objects of a fork network,
 * each public member fetched into `refs/virtual/<virtref>/`, members borrowing through alternates.
 * Layout and configuration follow grokmirror 2.x (spec/fsck.md) so both tools share objstores.
 * Shared by grok-pull (replica forkgroups) and grok-fsck. Every change here is made so that a crash
 * at any point leaves nothing lost: the objstore is built aside and renamed into place, and a member
 * borrows from it only after the objstore holds that member's objects.
 */
import { copyFile, mkdir, readFile, rename, rm, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { atomicWrite, removeStaleTemps } from '../fs/atomic.js';
import { isLockBusy, lockPathFor, withLock } from '../lock.js';
import { mirrorFetch, untrusted, type Git } from '../git/index.js';
import { OBJSTORE_MARKER } from '../repo/bare.js';
import { removeWorkLeftovers, workPath } from '../repo/work-names.js';
import { FINGERPRINT_FILE } from '../repo/fingerprint-file.js';
import { virtrefFor } from './virtref.js';

const PREAMBLE =
  '# WARNING: This is a grokmirror object storage repository.\n' +
  '# Deleting or moving it will cause corruption in the following repositories\n' +
  '# (caution, this list may be incomplete):\n';

export function objstorePath(objstoreDir: string, name: string): string {
  return path.join(objstoreDir, `${name}.git`);
}

async function setConfig(git: Git, dir: string, pairs: [string, string][]): Promise<void> {
  for (const [k, v] of pairs) await git.run({ gitDir: dir, args: ['config', k, v] });
}

/**
 * Removes what a createObjstore of `dir` that was killed left beside it. Only for a caller holding
 * the objstore's lock: without it the directory may be another process's objstore in the making.
 */
export function removeCreateLeftovers(dir: string): Promise<string[]> {
  return removeWorkLeftovers(dir, 'new');
}

/** Creates the objstore at `dir` (built beside it, renamed into place); returns false if it existed. */
export async function createObjstore(git: Git, dir: string): Promise<boolean> {
  if (existsSync(dir)) return false;
  await mkdir(path.dirname(dir), { recursive: true });
  const tmp = workPath(dir, 'new');
  try {
    await git.run({ args: ['init', '-q', '--bare', untrusted(tmp)] });
    await rm(path.join(tmp, 'hooks'), { recursive: true, force: true });
    await mkdir(path.join(tmp, 'hooks'));
    await setConfig(git, tmp, [
      ['gc.auto', '0'],
      ['core.repositoryformatversion', '1'],
      ['extensions.preciousObjects', 'true'],
      ['pack.compression', '9'],
      ['repack.useDeltaIslands', 'true'],
      ['repack.writeBitmaps', 'true'],
      ['pack.island', 'refs/virtual/([0-9a-f]+)/'],
    ]);
    await symlink('/dev/null', path.join(tmp, 'FETCH_HEAD'));
    await atomicWrite(path.join(tmp, OBJSTORE_MARKER), PREAMBLE);
    await rename(tmp, dir);
    return true;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    if (existsSync(dir)) return false; // someone else made it meanwhile
    throw err;
  }
}

export async function readMembers(dir: string): Promise<string[]> {
  const text = await readFile(path.join(dir, OBJSTORE_MARKER), 'utf8').catch(() => '');
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

/**
 * Registers a public member: a remote named by its virtref, fetching into refs/virtual/<virtref>/.
 * The caller holds the objstore's lock, which every writer of its member list takes: so a temp file
 * of that list found here was left by a writer that was killed, and goes.
 */
export async function addMember(git: Git, dir: string, member: string): Promise<string> {
  await removeStaleTemps(path.join(dir, OBJSTORE_MARKER));
  const v = virtrefFor(member);
  const has = await git.run({ gitDir: dir, args: ['config', '--get', `remote.${v}.url`], okExit: [1] });
  if (has.exitCode !== 0) {
    await setConfig(git, dir, [
      [`remote.${v}.url`, member],
      [`remote.${v}.fetch`, `+refs/*:refs/virtual/${v}/*`],
      [`remote.${v}.tagopt`, '--no-tags'],
    ]);
  }
  const members = new Set(await readMembers(dir));
  if (!members.has(member)) {
    members.add(member);
    await atomicWrite(path.join(dir, OBJSTORE_MARKER), PREAMBLE + [...members].sort().map((m) => `${m}\n`).join(''));
  }
  return v;
}

/** Copies a member's objects and refs into the objstore, and records the fingerprint it fetched. */
export async function fetchMember(git: Git, dir: string, member: string): Promise<void> {
  const v = virtrefFor(member);
  // Its refspec is +refs/*:refs/virtual/<v>/* (addMember): every update is forced.
  await git.run(mirrorFetch(dir, v, { forcedRefspecs: true }));
  await copyFile(path.join(member, FINGERPRINT_FILE), path.join(dir, `grokmirror.${v}.fingerprint`)).catch(() => {});
}

/**
 * Feeds a member's new objects to its objstore, under the objstore's lock without waiting: 'busy'
 * when another process (grok-fsck repacking) holds it, which catches up later; 'not-a-member' when
 * the objstore has no remote for this repository.
 */
export async function feedObjstore(git: Git, dir: string, member: string): Promise<'fed' | 'not-a-member' | 'busy'> {
  const has = await git.run({ gitDir: dir, args: ['config', '--get', `remote.${virtrefFor(member)}.url`], okExit: [1] });
  if (has.exitCode !== 0) return 'not-a-member';
  try {
    await withLock(lockPathFor(dir), () => fetchMember(git, dir, member), { timeoutMs: 0 });
    return 'fed';
  } catch (err) {
    if (isLockBusy(err)) return 'busy';
    throw err;
  }
}

/** Points a repository's alternates at the objstore (only once the objstore holds its objects). */
export async function borrowFrom(repo: string, objstore: string): Promise<void> {
  await mkdir(path.join(repo, 'objects', 'info'), { recursive: true });
  await atomicWrite(path.join(repo, 'objects', 'info', 'alternates'), `${path.join(objstore, 'objects')}\n`);
}
