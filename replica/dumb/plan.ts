/**
 * The dumb-pull planner: from what the remote advertises (ls-remote) and what the mirror holds,
 * the one action to take. Pure; tests use tables. The point of the tool: a repository whose refs did
 * not move costs one ls-remote and no fetch.
 */
export type RefMap = ReadonlyMap<string, string>;

export type RepoAction = 'clone' | 'fetch' | 'unchanged';

/** A fetch refspec of one remote: `+refs/heads/*:refs/remotes/origin/*`, at most one `*` a side. */
export interface Refspec {
  readonly force: boolean;
  readonly src: string;
  readonly dst: string;
}

export function parseRefspec(spec: string): Refspec | null {
  const force = spec.startsWith('+');
  const body = force ? spec.slice(1) : spec;
  if (body.startsWith('^')) return null; // negative refspecs exclude; they only matter through the others
  const at = body.indexOf(':');
  if (at <= 0) return null;
  const src = body.slice(0, at);
  const dst = body.slice(at + 1);
  const stars = (s: string) => s.split('*').length - 1;
  if (dst === '' || stars(src) !== stars(dst) || stars(src) > 1) return null;
  return { force, src, dst };
}

/** The local ref a remote ref lands in under these refspecs, or null when none takes it. */
export function mapRef(name: string, specs: readonly Refspec[]): string | null {
  for (const s of specs) {
    if (!s.src.includes('*')) {
      if (s.src === name) return s.dst;
      continue;
    }
    const [pre, post] = s.src.split('*') as [string, string];
    if (name.length >= pre.length + post.length && name.startsWith(pre) && name.endsWith(post)) {
      const mid = name.slice(pre.length, name.length - post.length);
      return s.dst.replace('*', mid);
    }
  }
  return null;
}

/** Whether a local ref is in a refspec's destination (and so would be pruned if the remote lacks it). */
function inDestination(name: string, specs: readonly Refspec[]): boolean {
  return mapRef(name, specs.map((s) => ({ force: s.force, src: s.dst, dst: s.dst }))) !== null;
}

/**
 * Remote refs as they would look locally after a fetch with `specs`. Peeled tag lines (`^{}`) and
 * HEAD are not refs a fetch writes; they are dropped.
 */
export function expectedLocalRefs(remote: RefMap, specs: readonly Refspec[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, oid] of remote) {
    if (!name.startsWith('refs/') || name.endsWith('^{}')) continue;
    const local = mapRef(name, specs);
    if (local !== null) out.set(local, oid);
  }
  return out;
}

/**
 * `local` is null when the mirror does not exist yet. Only refs inside the refspecs' destinations
 * are compared (a classic repository's own branches are not the remote's business); a remote ref
 * that moved, appeared or went away (fetch --prune removes it) means a fetch.
 */
export function planRepo(remote: RefMap, local: RefMap | null, specs: readonly Refspec[]): RepoAction {
  if (local === null) return 'clone';
  const want = expectedLocalRefs(remote, specs);
  for (const [name, oid] of want) if (local.get(name) !== oid) return 'fetch';
  for (const name of local.keys()) if (!want.has(name) && inDestination(name, specs)) return 'fetch';
  return 'unchanged';
}

/** What `git clone --mirror` configures: every ref, forced, pruned. */
export const MIRROR_REFSPECS: readonly Refspec[] = [{ force: true, src: 'refs/*', dst: 'refs/*' }];
