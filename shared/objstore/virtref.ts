import { createHash } from 'node:crypto';

/** The objstore remote name of a member: sha1 of its absolute real path, first 12 hex digits. */
export function virtrefFor(realPath: string): string {
  return createHash('sha1').update(realPath, 'utf8').digest('hex').slice(0, 12);
}
