/**
 * grokmirror 1.x entries: a fork names the repository it borrows objects from in `reference` and has
 * no `forkgroup` (grokmirror 2.x writes the same for a `git clone -s` fork its grok-fsck has not moved
 * into an objstore). grokmirror's grok-pull puts such a fork, the repository it references and that
 * repository's other forks into one forkgroup, so they are cloned against one objstore and only each
 * fork's own objects travel. So do we, before planning (pure: no I/O).
 *
 * The forkgroup's name, per referenced repository, is the first of: the objstore that repository
 * already borrows from here (`onDisk`), the forkgroup our local manifest gave it or one of its forks
 * (grokmirror: "our forkgroup info wins"), else a name derived from its key. grokmirror makes a new
 * UUID instead; a derived name is the same on every pass and every replica, so a fork the first pass
 * did not reach still joins its siblings' objstore on the next one.
 */
import { createHash } from 'node:crypto';
import { entryProblem, type Manifest, type ManifestEntry } from '../shared/manifest/entry.js';

/** How many references a chain may follow (1.x forks of forks) before it is taken as a loop. */
const MAX_CHAIN = 16;

/** The forkgroup name for a referenced repository that has none: a UUID-shaped hex digest of its key. */
export function derivedForkgroup(key: string): string {
  const h = createHash('sha1').update(`grokmirror-ts reference ${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Follows `reference` from `key` to the repository the chain ends at, or to the first entry that has a forkgroup. */
function rootOf(key: string, lookup: (k: string) => ManifestEntry | undefined): { root: string; forkgroup?: string } {
  let at = key;
  for (let i = 0; i < MAX_CHAIN; i++) {
    const e = lookup(at);
    if (e?.forkgroup) return { root: at, forkgroup: e.forkgroup };
    const next = e?.reference;
    if (!next || next === at || next === key) break;
    at = next;
  }
  return { root: at };
}

const usable = (e: ManifestEntry, name: string | undefined): name is string => name !== undefined && entryProblem({ ...e, forkgroup: name }) === null;

/**
 * The remote manifest with a forkgroup on every 1.x fork and on the repositories they reference.
 * `onDisk`: key -> name of the objstore that repository borrows from here. Entries are copied, never changed.
 */
export function mapLegacyReferences(remote: Manifest, local: Manifest, onDisk: ReadonlyMap<string, string> = new Map()): Manifest {
  const lookup = (k: string) => remote.get(k) ?? local.get(k);
  const groups = new Map<string, { forkgroup?: string; members: string[] }>();
  for (const [k, e] of remote) {
    if (e.forkgroup || !e.reference || e.reference === k) continue;
    const { root, forkgroup } = rootOf(k, lookup);
    const g = groups.get(root) ?? { members: [] };
    if (forkgroup) g.forkgroup = forkgroup;
    g.members.push(k);
    groups.set(root, g);
  }
  if (groups.size === 0) return remote;
  const out = new Map(remote);
  for (const [root, g] of groups) {
    const e = remote.get(root) ?? local.get(root) ?? remote.get(g.members[0]!)!;
    const candidates = [g.forkgroup, onDisk.get(root), local.get(root)?.forkgroup, ...g.members.sort().map((m) => local.get(m)?.forkgroup)];
    const name = candidates.find((n) => usable(e, n)) ?? derivedForkgroup(root);
    for (const k of [root, ...g.members]) {
      const entry = remote.get(k);
      if (entry && !entry.forkgroup) out.set(k, { ...entry, forkgroup: name });
    }
  }
  return out;
}

/** The keys the mapping would look up on disk: the repositories 1.x forks reference (their chains' ends). */
export function referencedRoots(remote: Manifest, local: Manifest): string[] {
  const lookup = (k: string) => remote.get(k) ?? local.get(k);
  const roots = new Set<string>();
  for (const [k, e] of remote) if (!e.forkgroup && e.reference && e.reference !== k) roots.add(rootOf(k, lookup).root);
  return [...roots];
}

/**
 * The entries the reference chains of `kept`'s 1.x forks pass through that a pass did not keep (it
 * builds only the entries it wants or holds: shared/manifest/io.ts parseManifestSubset), read with
 * `pick` from the manifest, a link of the chains at a time. Rare, and empty when no wanted fork is
 * 1.x style; with them, mapLegacyReferences names the forkgroups as it would with the whole manifest.
 */
export function chainEntries(kept: Manifest, local: Manifest, pick: (keys: ReadonlySet<string>) => Manifest): Manifest {
  const extra: Manifest = new Map();
  const lookup = (k: string) => kept.get(k) ?? extra.get(k) ?? local.get(k);
  const tried = new Set<string>();
  for (let i = 0; i < MAX_CHAIN; i++) {
    const need = new Set<string>();
    for (const [k, e] of kept) {
      if (e.forkgroup || !e.reference || e.reference === k) continue;
      const { root } = rootOf(k, lookup);
      if (!lookup(root) && !tried.has(root)) need.add(root);
    }
    if (need.size === 0) break;
    for (const k of need) tried.add(k);
    for (const [k, e] of pick(need)) extra.set(k, e);
  }
  return extra;
}
