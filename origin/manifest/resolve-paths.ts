/**
 * Turns command-line paths into manifest targets: a bare repo under the toplevel, or a symlink under
 * the toplevel to one. Anything else is an error for that path alone.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { GrokError } from '../../shared/errors.js';
import { isUnder, pathToKey } from '../../shared/manifest/keys.js';
import { hasExportOk, isBareRepo, isObjstoreRepo } from '../../shared/repo/bare.js';
import { resolveRepoSymlink } from '../../shared/repo/discover.js';
import type { GivenPath } from './plan.js';

/** Real path of the directory part, plus the last component as given (so a symlink stays a symlink). */
async function physical(p: string): Promise<string> {
  const abs = path.resolve(p);
  const dir = await fsp.realpath(path.dirname(abs)).catch(() => path.dirname(abs));
  return path.join(dir, path.basename(abs));
}

/** For -x: the key a path had, even when the repository is already gone. */
export async function keyForRemoval(toplevel: string, p: string): Promise<GivenPath> {
  const phys = await physical(p.replace(/\/+$/, ''));
  // A symlink is removed as itself (its target keeps its entry); a gone repo by its old name.
  const isLink = (await fsp.lstat(phys).catch(() => null))?.isSymbolicLink() ?? false;
  const real = isLink ? phys : await fsp.realpath(phys).catch(() => phys);
  const key = pathToKey(toplevel, isUnder(toplevel, real) ? real : phys);
  return { kind: 'repo', key, path: real, exportOk: true };
}

export async function resolveGivenPath(toplevel: string, p: string): Promise<GivenPath> {
  const phys = await physical(p.replace(/\/+$/, ''));
  const st = await fsp.lstat(phys).catch(() => null);
  if (!st) throw new GrokError('GROK_ERR_NOT_A_REPO', `${p}: no such file or directory`, { path: p });
  if (st.isSymbolicLink()) {
    if (!isUnder(toplevel, phys)) throw new GrokError('GROK_ERR_OUTSIDE_TOPLEVEL', `${p}: not under the toplevel ${toplevel}`, { path: p });
    const res = await resolveRepoSymlink(toplevel, phys);
    if ('why' in res) throw new GrokError('GROK_ERR_NOT_A_REPO', `${p}: symlink ${res.why}`, { path: p });
    return {
      kind: 'symlink',
      key: pathToKey(toplevel, phys),
      target: { key: pathToKey(toplevel, res.target), path: res.target, exportOk: await hasExportOk(res.target) },
    };
  }
  const real = await fsp.realpath(phys);
  if (!isUnder(toplevel, real) || real === toplevel) {
    throw new GrokError('GROK_ERR_OUTSIDE_TOPLEVEL', `${p}: not under the toplevel ${toplevel}`, { path: p });
  }
  if (!(await isBareRepo(real))) throw new GrokError('GROK_ERR_NOT_A_REPO', `${p}: not a bare git repository (needs objects/, refs/ and HEAD)`, { path: p });
  if (await isObjstoreRepo(real)) throw new GrokError('GROK_ERR_NOT_A_REPO', `${p}: is an objstore repository; those are not listed in manifests`, { path: p });
  return { kind: 'repo', key: pathToKey(toplevel, real), path: real, exportOk: await hasExportOk(real) };
}
