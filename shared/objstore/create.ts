/**
 * Creating an objstore: a bare repository with grokmirror's settings, built beside its final path and
 * renamed into place, so nobody ever sees (or borrows from) half of one.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { atomicWrite } from '../fs/atomic.js';
import { untrusted, type Git } from '../git/index.js';
import { OBJSTORE_MARKER } from '../repo/bare.js';
import { removeWorkLeftovers, workPath } from '../repo/work-names.js';
import { PREAMBLE, setConfig } from './members.js';

/**
 * Removes what a createObjstore of `dir` that was killed left beside it. Only for a caller holding
 * the objstore's lock: without it the directory may be another process's objstore in the making.
 */
export function removeCreateLeftovers(dir: string): Promise<string[]> {
  return removeWorkLeftovers(dir, 'new');
}

/** Creates the objstore at `dir`; returns false if it existed (or someone else made it meanwhile). */
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
    if (existsSync(dir)) return false;
    throw err;
  }
}
