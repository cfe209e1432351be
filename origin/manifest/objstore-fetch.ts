/**
 * grok-manifest -o: after a push, pull the new objects of a member into its objstore right away, so
 * forks pushing the same objects find them shared. Skipped when the objstore is busy (grok-fsck holds
 * its lock while repacking); fsck fetches later.
 */
import path from 'node:path';
import type { Git } from '../../shared/git/index.js';
import type { Logger } from '../../shared/log.js';
import { feedObjstore } from '../../shared/objstore/index.js';

export async function fetchIntoObjstore(git: Git, log: Logger, member: string, objstore: string): Promise<'fed' | 'not-a-member' | 'busy'> {
  const res = await feedObjstore(git, objstore, member);
  if (res === 'fed') log.info({ repo: member, action: 'objstore-fetch', objstore }, `fetched ${member} into ${path.basename(objstore)}`);
  return res;
}
