/**
 * Finds the bare repositories under a toplevel with one readdir per directory: a directory is a repo
 * when its own listing holds objects/, refs/ and HEAD, so no extra stats are needed, and we never
 * descend into a repo. Objstore repos (marker file) are skipped, and so is work in progress
 * (work-names.ts): a clone being built, or left half-made by a killed grok-pull, is no repository to
 * list in a manifest, to purge (a replica's purge candidates come from here) or to put in an
 * objstore. Symlinks are not followed while walking; a symlink that resolves to a repo under the
 * toplevel is reported as a symlink of that repo.
 * A repository whose objects/ is a symlink to a directory is one too (git and grokmirror take it so),
 * and it shares that object directory with whatever else uses it: such repositories are reported with
 * `sharedObjects` (and a warning), so that nothing prunes, slims or purges what another can reach.
 * readdir is synchronous: one call per directory, and the promise API's threadpool hops made the
 * walk of 1000 repos three times slower.
 */
import { promises as fsp, readdirSync, realpathSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { matchesAny } from '../glob.js';
import { lockTargetName } from '../lock.js';
import { isUnder, pathToKey } from '../manifest/keys.js';
import { EXPORT_OK_FILE, isBareRepo, isObjstoreRepo, listingIsBareRepo, OBJSTORE_MARKER } from './bare.js';
import { isWorkInProgress } from './work-names.js';

export interface FoundRepo {
  readonly path: string;
  readonly key: string;
  readonly exportOk: boolean;
  /**
   * Its object directory, resolved, when other repositories may use it too: its objects/ is a symlink,
   * or another repository's objects/ links to its own. Whatever one of them no longer reaches, another
   * may: such a directory is never pruned nor slimmed into an objstore.
   */
  readonly sharedObjects?: string;
  /** Its objects/ is a symlink: removing it removes the link, not the objects. */
  readonly objectsLinked?: boolean;
}

export interface FoundSymlink {
  /** Absolute path of the link itself, and its manifest key. */
  readonly path: string;
  readonly key: string;
  /** Resolved repository it points at, and that repo's key. */
  readonly target: string;
  readonly targetKey: string;
}

export interface Discovery {
  readonly repos: FoundRepo[];
  readonly symlinks: FoundSymlink[];
  readonly warnings: string[];
  /** `.<name>.lock` files (absolute paths) with nothing named `<name>` beside them: locks of what is gone. */
  readonly orphanLocks: string[];
}

export interface DiscoverOptions {
  /** Globs (fnmatch) tested against the full path and the manifest key of each repo. */
  readonly ignore?: readonly string[];
}

export function isIgnored(fullpath: string, key: string, ignore: readonly string[]): boolean {
  return ignore.length > 0 && (matchesAny(fullpath, ignore) || matchesAny(key, ignore));
}

/** Resolves a symlink under the toplevel to the repo it names, or explains why it does not count. */
export async function resolveRepoSymlink(toplevel: string, link: string): Promise<{ target: string } | { why: string }> {
  let target: string;
  try {
    target = await fsp.realpath(link);
  } catch {
    return { why: 'is dangling' };
  }
  if (!isUnder(toplevel, target) || target === toplevel) return { why: `points outside the toplevel (${target})` };
  if (!(await isBareRepo(target))) return { why: `points at ${target}, which is not a bare repository` };
  if (await isObjstoreRepo(target)) return { why: 'points at an objstore repository' };
  return { target };
}

export async function discoverRepos(toplevel: string, opts: DiscoverOptions = {}): Promise<Discovery> {
  const ignore = opts.ignore ?? [];
  const repos: FoundRepo[] = [];
  const links: string[] = [];
  const warnings: string[] = [];
  const orphanLocks: string[] = [];
  const stack: string[] = [toplevel];
  for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      warnings.push(`cannot read ${dir}: ${(err as NodeJS.ErrnoException).code ?? err}`);
      continue;
    }
    const dirs = new Set<string>();
    const files = new Set<string>();
    let objectsLink = false;
    for (const e of entries) {
      if (e.isDirectory()) {
        if (!isWorkInProgress(e.name)) dirs.add(e.name);
      } else if (e.isFile()) files.add(e.name);
      else if (e.isSymbolicLink()) {
        if (e.name === 'objects') objectsLink = true;
        else links.push(path.join(dir, e.name));
      }
    }
    for (const f of files) {
      const target = f.endsWith('.lock') ? lockTargetName(f) : null;
      if (target !== null && !entries.some((e) => e.name === target)) orphanLocks.push(path.join(dir, f));
    }
    const linkedObjects = objectsLink && !dirs.has('objects') ? linkedDir(path.join(dir, 'objects')) : null;
    if (linkedObjects !== null) dirs.add('objects');
    if (dir !== toplevel && listingIsBareRepo({ dirs, files })) {
      if (files.has(OBJSTORE_MARKER)) continue;
      const key = pathToKey(toplevel, dir);
      const shared = linkedObjects !== null ? { sharedObjects: linkedObjects, objectsLinked: true } : {};
      if (!isIgnored(dir, key, ignore)) repos.push({ path: dir, key, exportOk: files.has(EXPORT_OK_FILE), ...shared });
      continue;
    }
    if (objectsLink) links.push(path.join(dir, 'objects'));
    for (const name of dirs) stack.push(path.join(dir, name));
  }

  const symlinks: FoundSymlink[] = [];
  for (const link of links.sort()) {
    const key = pathToKey(toplevel, link);
    if (isIgnored(link, key, ignore)) continue;
    const res = await resolveRepoSymlink(toplevel, link);
    if ('why' in res) {
      // Symlinks to plain directories are common (and harmless) in a toplevel; only warn about
      // ones that look like repositories.
      if (link.endsWith('.git')) warnings.push(`symlink ${link} ${res.why}; ignored`);
      continue;
    }
    symlinks.push({ path: link, key, target: res.target, targetKey: pathToKey(toplevel, res.target) });
  }
  repos.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { repos: markShared(toplevel, repos, warnings), symlinks, warnings, orphanLocks: orphanLocks.sort() };
}

/** The resolved directory a symlink names, or null (dangling, or not a directory). */
function linkedDir(link: string): string | null {
  try {
    return statSync(link).isDirectory() ? realpathSync(link) : null;
  } catch {
    return null;
  }
}

/**
 * Marks the repositories whose objects/ others link to, and warns once per shared directory. Link
 * targets are resolved paths; a repository's own objects/ is compared in the toplevel's spelling.
 */
function markShared(toplevel: string, repos: FoundRepo[], warnings: string[]): FoundRepo[] {
  const linked = repos.filter((r) => r.objectsLinked);
  if (linked.length === 0) return repos;
  let realTop = toplevel;
  try {
    realTop = realpathSync(toplevel);
  } catch {
    // compared as given
  }
  const groups = new Map<string, { real: string; users: string[] }>();
  for (const r of linked) {
    const real = r.sharedObjects!;
    const spelled = isUnder(realTop, real) ? path.join(toplevel, path.relative(realTop, real)) : real;
    const g = groups.get(spelled) ?? { real, users: [] };
    g.users.push(r.path);
    groups.set(spelled, g);
  }
  const owners = new Map<string, string>();
  const out = repos.map((r) => {
    const own = path.join(r.path, 'objects');
    const g = r.objectsLinked ? undefined : groups.get(own);
    if (!g) return r;
    owners.set(own, r.path);
    return { ...r, sharedObjects: g.real };
  });
  for (const [own, g] of groups) {
    const owner = owners.get(own);
    const all = [...(owner ? [owner] : []), ...g.users];
    warnings.push(
      `${all.join(', ')}: ${all.length > 1 ? 'these repositories share' : 'its objects/ is a symlink to'} one object directory (${g.real}); ` +
        'nothing there is pruned, slimmed into an objstore or purged while another may need it',
    );
  }
  return out;
}
