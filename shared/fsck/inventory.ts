/**
 * What grok-fsck looks at: every repository under the toplevel with what it borrows from, and every
 * objstore with its registered members and its users (the repositories whose alternates point at
 * it, registered or not: private repositories are users that are never members).
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Git } from '../git/index.js';
import { matchesAny } from '../glob.js';
import { discoverRepos } from '../repo/discover.js';
import { hasExportOk, isObjstoreRepo } from '../repo/bare.js';
import { readAlternate } from '../repo/inspect.js';
import { isPromisorRepo } from '../repo/promisor.js';
import { storeRemotes } from './objstore-ops.js';

export const OPT_OUT_FILE = 'grokmirror.do-not-objstore';

export interface RepoInfo {
  readonly path: string;
  readonly key: string;
  readonly isPrivate: boolean;
  readonly optOut: boolean;
  /** Name of the objstore its alternates point at, or null. */
  readonly store: string | null;
  /** A repository outside the objstore directory it borrows from (grokmirror 1.x style), or null. */
  readonly borrowsFrom: string | null;
  /** Its object directory when other repositories use it too (repo/discover.ts), or null. */
  readonly sharedObjects: string | null;
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
}

/** Which repositories must keep their objects to themselves. */
export interface Privacy {
  /** `[core] private` globs, matched against the manifest key and the path. */
  readonly globs: readonly string[];
  /**
   * `[manifest] check_export_ok` on an origin: a repository without git-daemon-export-ok is not
   * served, so its objects may not sit in an objstore that served siblings borrow from (protocol v2
   * upload-pack hands out any object a repository can reach, through its alternates too).
   */
  readonly exportedOnly: boolean;
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
    repos.push({
      path: r.path,
      key: r.key,
      isPrivate: matchesAny(r.key, privacy.globs) || matchesAny(r.path, privacy.globs) || (privacy.exportedOnly && !(await hasExportOk(r.path))),
      // A partial clone never joins an objstore (repo/promisor.ts): it opts out like a marked one.
      optOut: existsSync(path.join(r.path, OPT_OUT_FILE)) || isPromisorRepo(r.path),
      store,
      borrowsFrom: alt && !inStoreDir ? alt.repo : null,
      sharedObjects: r.sharedObjects ?? null,
    });
  }
  const stores: StoreInfo[] = [];
  for (const n of (await fsp.readdir(realObjstoreDir).catch(() => [] as string[])).sort()) {
    const p = path.join(realObjstoreDir, n);
    if (!n.endsWith('.git') || n.startsWith('.') || !(await isObjstoreRepo(p))) continue;
    const name = n.slice(0, -'.git'.length);
    stores.push({ name, path: p, remotes: await storeRemotes(git, p), users: usersOf.get(name) ?? [] });
  }
  return { toplevel, objstoreDir: realObjstoreDir, repos, stores, lenders, keyOf: new Map(repos.map((r) => [r.path, r.key])) };
}
