/**
 * Merging objstore `from` into `into`: every object of `from` (hardlinked, unreachable ones too, since
 * a private user may need them), every refs/virtual/ ref, every remote and fingerprint record go to
 * `into` first; then each user's alternates are pointed at `into`; `from` is removed (remove.ts) once
 * nothing uses it. The caller holds both objstores' locks.
 */
import type { Git } from '../git/index.js';
import { carryPurge } from '../fsck/purge-mark.js';
import { readStoreFingerprint, writeStoreFingerprint } from './fingerprint.js';
import { borrowFrom } from './join.js';
import { linkObjects } from './link-objects.js';
import { addMember, storeRemotes } from './members.js';

export async function mergeStore(git: Git, from: string, into: string, users: readonly string[]): Promise<void> {
  // What `from` still has to purge comes along with its objects.
  await carryPurge(from, into);
  await linkObjects(from, into);
  const refs = await git.run({ gitDir: from, args: ['for-each-ref', '--format=%(objectname) %(refname)', 'refs/virtual/'] });
  const cmds = refs.stdout.toString('latin1').split('\n').filter((l) => l !== '').map((l) => `update ${l.slice(l.indexOf(' ') + 1)} ${l.slice(0, l.indexOf(' '))}\n`);
  if (cmds.length > 0) await git.run({ gitDir: into, args: ['update-ref', '--stdin'], input: Buffer.from(cmds.join(''), 'latin1') });
  for (const [v, member] of await storeRemotes(git, from)) {
    await addMember(git, into, member);
    const fp = await readStoreFingerprint(from, v);
    if (fp !== null) await writeStoreFingerprint(into, v, fp);
  }
  for (const u of users) await borrowFrom(u, into);
}
