/**
 * What grok-fsck looks at: every repository under the toplevel with what it borrows from, and every
 * objstore with its registered members and its users (the repositories whose alternates point at
 * it, registered or not: private repositories are users that are never members).
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Git } from '../git/index.js';
import { matchesAny } from '../glob.js';
import { lockTargetName } from '../lock.js';
import { discoverRepos, isIgnored } from '../repo/discover.js';
import { hasExportOk, isObjstoreRepo } from '../repo/bare.js';
import { readAlternate } from '../repo/inspect.js';
import { isPromisorRepo } from '../repo/promisor.js';
import { alternatesLines, storeRemotes } from '../objstore/index.js';

export const OPT_OUT_FILE = 'grokmirror.do-not-objstore';

export interface RepoInfo {
  readonly path: string;
  readonly key: string;
  /** May borrow from an objstore, never give to one; why, when so (privacyOf). */
  readonly isPrivate: boolean;
  readonly privateWhy: string | null;
  readonly optOut: boolean;
  /** Name of the objstore its alternates point at, or null. */
  readonly store: string | null;
  /** A repository outside the objstore directory it borrows from (grokmirror 1.x style), or null. */
  readonly borrowsFrom: string | null;
  /** Its object directory when other repositories use it too (repo/discover.ts), or null. */
  readonly sharedObjects: string | null;
  /** Its alternates name more than the objstore it uses: an adoption a kill cut short (adopt-alternates.ts). */
  readonly extraAlternates: boolean;
}

export interface StoreInfo {
  readonly name: string;
  readonly path: string;
  /** virtref -> member path */
  readonly remotes: ReadonlyMap<string, string>;
  /** Paths of the repositories borrowing from it. */
  readonly users: readonly string[];
}

export interface Inventory {
  readonly toplevel: string;
  readonly objstoreDir: string;
  readonly repos: readonly RepoInfo[];
  readonly stores: readonly StoreInfo[];
  /** Repositories other repositories borrow from outside any objstore. */
  readonly lenders: ReadonlySet<string>;
  /** Manifest key of each repository path. */
  readonly keyOf: ReadonlyMap<string, string>;
  /** Lock files (under the toplevel and in the objstore directory) of repositories that are gone. */
  readonly orphanLocks: readonly string[];
}

/**
 * Which repositories must keep their objects to themselves. Unpublished means private: a repository
 * the origin does not serve may borrow from an objstore but never bring its objects into one, since
 * protocol v2 upload-pack hands out any object a served sibling can reach through its alternates,
 * advertised or not.
 */
export interface Privacy {
  /** `[core] private` globs, matched against the manifest key and the path. */
  readonly globs: readonly string[];
  /** `[manifest] check_export_ok` on an origin: a repository without git-daemon-export-ok is not served. */
  readonly exportedOnly: boolean;
  /** `[manifest] ignore` globs on an origin: grok-manifest never lists those. */
  readonly ignore?: readonly string[];
  /** On an origin, the manifest's keys: a repository not listed is not served. Null: not applied (replicas). */
  readonly published?: ReadonlySet<string> | null;
}

/** Why a repository may not give objects to an objstore, or null when it may. */
export async function privacyOf(repo: { path: string; key: string }, p: Privacy): Promise<string | null> {
  if (matchesAny(repo.key, p.globs) || matchesAny(repo.path, p.globs)) return '[core] private';
  if (p.ignore && isIgnored(repo.path, repo.key, p.ignore)) return 'matches [manifest] ignore';
  if (p.published && !p.published.has(repo.key)) return 'not in the manifest';
  if (p.exportedOnly && !(await hasExportOk(repo.path))) return 'not exported (check_export_ok)';
  return null;
}

export async function takeInventory(git: Git, toplevel: string, objstoreDir: string, privacy: Privacy): Promise<Inventory> {
  const realObjstoreDir = existsSync(objstoreDir) ? await fsp.realpath(objstoreDir) : path.resolve(objstoreDir);
  const found = await discoverRepos(toplevel);
  const repos: RepoInfo[] = [];
  const lenders = new Set<string>();
  const usersOf = new Map<string, string[]>();
  for (const r of found.repos) {
    const alt = await readAlternate(r.path);
    const inStoreDir = alt !== null && alt.objstoreMembers !== null && path.dirname(alt.repo) === realObjstoreDir;
    const store = inStoreDir ? path.basename(alt.repo).replace(/\.git$/, '') : null;
    if (store) usersOf.set(store, [...(usersOf.get(store) ?? []), r.path]);
    if (alt && !inStoreDir) lenders.add(alt.repo);
    const privateWhy = await privacyOf(r, privacy);
    repos.push({
      path: r.path,
      key: r.key,
      isPrivate: privateWhy !== null,
      privateWhy,
      // A partial clone never joins an objstore (repo/promisor.ts): it opts out like a marked one.
      optOut: existsSync(path.join(r.path, OPT_OUT_FILE)) || isPromisorRepo(r.path),
      store,
      borrowsFrom: alt && !inStoreDir ? alt.repo : null,
      sharedObjects: r.sharedObjects ?? null,
      extraAlternates: store !== null && (await alternatesLines(r.path)).length > 1,
    });
  }
  const stores: StoreInfo[] = [];
  const orphanLocks = new Set(found.orphanLocks);
  const storeNames = (await fsp.readdir(realObjstoreDir).catch(() => [] as string[])).sort();
  for (const n of storeNames) {
    const target = lockTargetName(n);
    if (target !== null && !storeNames.includes(target)) orphanLocks.add(path.join(realObjstoreDir, n));
  }
  for (const n of storeNames) {
    const p = path.join(realObjstoreDir, n);
    if (!n.endsWith('.git') || n.startsWith('.') || !(await isObjstoreRepo(p))) continue;
    const name = n.slice(0, -'.git'.length);
    stores.push({ name, path: p, remotes: await storeRemotes(git, p), users: usersOf.get(name) ?? [] });
  }
  return { toplevel, objstoreDir: realObjstoreDir, repos, stores, lenders, keyOf: new Map(repos.map((r) => [r.path, r.key])), orphanLocks: [...orphanLocks].sort() };
}
