/** What grok-pull's planner needs to know about a repository on disk (plan.ts DiskRepo). */
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { lookupConfigValue, type Git } from '../../shared/git/index.js';
import type { ManifestEntry } from '../../shared/manifest/entry.js';
import { keyToPath, keyToUrlPath } from '../../shared/manifest/keys.js';
import { isBareRepo, RECLONE_FILE } from '../../shared/repo/bare.js';
import { readFingerprintFile } from '../../shared/repo/fingerprint-file.js';
import { foreignAlternates } from '../../shared/repo/foreign-alternates.js';
import { readRepoMeta } from '../../shared/repo/inspect.js';
import type { DiskRepo } from '../plan.js';


async function symlinksOk(toplevel: string, repo: string, entry: ManifestEntry): Promise<boolean> {
  for (const s of entry.symlinks ?? []) {
    const real = await fsp.realpath(keyToPath(toplevel, s)).catch(() => null);
    if (real !== repo) return false;
  }
  return true;
}

/** The repository's remote URL from its config file; undefined when git's help would be needed. */
function readRemoteUrl(repo: string, remotename: string): string | null | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(repo, 'config'), 'utf8');
  } catch {
    return null;
  }
  const res = lookupConfigValue(text, 'remote', 'url', remotename);
  return 'found' in res ? (res.found ? res.value : null) : undefined;
}

/**
 * For a repository whose remote entry is exactly what the local manifest says we hold: is it still
 * there, what does its cached fingerprint say, does fsck want it recloned. Its parameters are taken
 * as in sync (they were when we recorded the entry), which spares reading a thousand config files
 * per pass; a changed entry gets the full look (diskState). The remote URL is read only for a key a
 * URL spells differently (a space, "%", non-ASCII...): an older grok-pull wrote those unencoded.
 * `roots`: when given, alternates leaving them are looked for too (a replica fed from a local path
 * may have inherited the origin's).
 */
export function quickDiskState(
  toplevel: string,
  key: string,
  entry: ManifestEntry,
  defaultOwner: string,
  remotename = '_grokmirror',
  roots: readonly string[] | null = null,
): DiskRepo {
  const repo = keyToPath(toplevel, key);
  // The fingerprint file is only ever written into a complete repository: when it reads, the
  // repository is there, and two stats per repository are saved on every pass.
  const fingerprint = readFingerprintFile(repo);
  const exists = fingerprint !== null || (existsSync(path.join(repo, 'HEAD')) && existsSync(path.join(repo, 'objects')));
  return {
    exists,
    fingerprint,
    reclone: exists && existsSync(path.join(repo, RECLONE_FILE)),
    head: entry.head,
    description: entry.description ?? null,
    owner: entry.owner ?? defaultOwner,
    symlinksOk: true,
    ...(exists && keyToUrlPath(key) !== key ? { remoteUrl: readRemoteUrl(repo, remotename) } : {}),
    ...(roots && exists ? { borrowsOutside: foreignAlternates(repo, roots).length > 0 } : {}),
  };
}

export async function diskState(git: Git, toplevel: string, key: string, entry: ManifestEntry, remotename: string, roots: readonly string[]): Promise<DiskRepo> {
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
    remoteUrl: readRemoteUrl(repo, remotename),
    partial: meta.partial ?? null,
    borrowsOutside: foreignAlternates(repo, roots).length > 0,
  };
}
