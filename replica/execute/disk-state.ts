/** What grok-pull's planner needs to know about a repository on disk (plan.ts DiskRepo). */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Git } from '../../shared/git/index.js';
import type { ManifestEntry } from '../../shared/manifest/entry.js';
import { keyToPath } from '../../shared/manifest/keys.js';
import { isBareRepo } from '../../shared/repo/bare.js';
import { readFingerprintFile } from '../../shared/repo/fingerprint-file.js';
import { readRepoMeta } from '../../shared/repo/inspect.js';
import type { DiskRepo } from '../plan.js';

export const RECLONE_FILE = 'grokmirror.reclone';

async function symlinksOk(toplevel: string, repo: string, entry: ManifestEntry): Promise<boolean> {
  for (const s of entry.symlinks ?? []) {
    const real = await fsp.realpath(keyToPath(toplevel, s)).catch(() => null);
    if (real !== repo) return false;
  }
  return true;
}

export async function diskState(git: Git, toplevel: string, key: string, entry: ManifestEntry): Promise<DiskRepo> {
  const repo = keyToPath(toplevel, key);
  if (!(await isBareRepo(repo))) {
    return { exists: false, fingerprint: null, reclone: false, head: null, description: null, owner: null, symlinksOk: false };
  }
  const meta = await readRepoMeta(git, repo);
  return {
    exists: true,
    fingerprint: readFingerprintFile(repo),
    reclone: existsSync(path.join(repo, RECLONE_FILE)),
    head: meta.head,
    description: meta.description,
    owner: meta.owner,
    symlinksOk: await symlinksOk(toplevel, repo, entry),
  };
}
