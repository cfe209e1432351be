/**
 * Repack flags by role and level (docs/architecture.md "grok-fsck"). Pure.
 * - objstore: `-a`, plus `-k` while pruning is unsafe (a private or unregistered user may need an
 *   object no member's refs reach any more);
 * - a repository others borrow from outside any objstore: `-a -b -k` (never drops anything);
 * - an objstore member: `-l -A` (what the objstore has is not copied back; unreachable objects
 *   become loose, dropped by age when pruning is allowed);
 * - standalone: `-a -b`;
 * - full adds `-f --pack-kept-objects` and `[fsck] extra_repack_flags_full`; every repack gets
 *   `[fsck] extra_repack_flags` and `-d`, except an objstore whose preciousObjects stays (`always`).
 */
import type { RepackLevel } from '../repo/repack-level.js';

export type RepoRole = 'objstore' | 'alternate' | 'member' | 'standalone';

export interface RepackPolicy {
  readonly pruneSafe: boolean;
  readonly precious: 'yes' | 'no' | 'always';
  readonly extra: readonly string[];
  readonly extraFull: readonly string[];
}

export function repackArgs(role: RepoRole, level: Exclude<RepackLevel, 'none'>, p: RepackPolicy): string[] {
  const args = ['repack', '-q'];
  if (role === 'objstore') args.push('-a', ...(p.pruneSafe ? [] : ['-k']));
  else if (role === 'alternate') args.push('-a', '-b', '-k');
  else if (role === 'member') args.push('-l', '-A', ...(p.pruneSafe ? ['--unpack-unreachable=yesterday'] : []));
  else args.push('-a', '-b');
  if (level === 'full') args.push('-f', '--pack-kept-objects', ...p.extraFull);
  args.push(...p.extra);
  if (!(role === 'objstore' && p.precious === 'always')) args.push('-d');
  return args;
}

/** Whether `git prune --expire=yesterday` may run after the repack. */
export function mayPrune(role: RepoRole, p: RepackPolicy): boolean {
  if (!p.pruneSafe) return false;
  if (role === 'alternate') return false;
  return !(role === 'objstore' && p.precious === 'always');
}
