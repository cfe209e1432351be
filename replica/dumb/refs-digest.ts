/**
 * A mirror's refs in 32 hex digits, as list mode stores them per URL: an upstream whose advertised
 * refs digest to what the mirror was left with is unchanged, and that is decided without touching the
 * disk (a sweep of millions of URLs is mostly that). Pure. The refs are those a mirror clone keeps:
 * names under refs/, peeled `^{}` lines left out (plan.ts expectedLocalRefs).
 */
import { createHash } from 'node:crypto';
import { expectedLocalRefs, MIRROR_REFSPECS, type RefMap } from './plan.js';

function digestOf(refs: RefMap): string {
  const h = createHash('sha256');
  for (const name of [...refs.keys()].sort()) h.update(`${refs.get(name)} ${name}\n`);
  return h.digest('hex').slice(0, 32);
}

/** What a mirror fetched from this advertisement would hold. */
export function advertisedDigest(remote: RefMap): string {
  return digestOf(expectedLocalRefs(remote, MIRROR_REFSPECS));
}

/** What a mirror holds (its refs as read from disk). */
export function mirrorDigest(local: RefMap): string {
  return digestOf(new Map([...local].filter(([name]) => name.startsWith('refs/') && !name.endsWith('^{}'))));
}
