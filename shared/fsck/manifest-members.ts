/**
 * On an origin, after objstore work: members' manifest entries say `forkgroup` = their objstore's
 * name and `reference` = the objstore's first member (null for that member itself), as grok-manifest
 * would compute them; entries of repositories that left lose both. Written under the manifest lock,
 * only when something changed (a running grok-origin picks the new file up).
 */
import { lockPathFor, withLock } from '../lock.js';
import type { Manifest } from '../manifest/entry.js';
import { readManifestFile, writeManifestFile } from '../manifest/io.js';
import { recoverJournal } from '../manifest/journal.js';

export interface Membership {
  readonly forkgroup: string;
  /** Manifest keys of the objstore's members, sorted. */
  readonly members: readonly string[];
}

/** Pure: the entries that change. */
export function memberUpdates(m: Manifest, memberships: ReadonlyMap<string, Membership>): Manifest {
  const changed: Manifest = new Map();
  for (const [key, e] of m) {
    const ms = memberships.get(key);
    if (ms) {
      if (e.forkgroup === ms.forkgroup) continue; // reference keeps its stored value (grokmirror)
      const first = ms.members[0];
      changed.set(key, { ...e, forkgroup: ms.forkgroup, reference: first && first !== key ? first : null });
    } else if (e.forkgroup !== undefined) {
      const { forkgroup: _gone, ...rest } = e;
      changed.set(key, { ...rest, reference: null });
    }
  }
  return changed;
}

export async function saveMemberships(file: string, maxBytes: number, pretty: boolean, memberships: ReadonlyMap<string, Membership>): Promise<number> {
  return withLock(lockPathFor(file), async () => {
    await recoverJournal(file, { pretty, maxBytes, warn: () => {} });
    const parsed = await readManifestFile(file, maxBytes);
    if (!parsed) return 0;
    const changed = memberUpdates(parsed.entries, memberships);
    if (changed.size === 0) return 0;
    for (const [k, e] of changed) parsed.entries.set(k, e);
    await writeManifestFile(file, parsed.entries, { pretty });
    return changed.size;
  });
}
