/**
 * [pull] archive_repack: a repository that will not change again is worth one expensive repack
 * (`-f --depth=250 --window=250`, what `gc --aggressive` does) to give disk space back. The same
 * care as housekeeping.ts: -A leaves unreachable objects loose instead of dropping them (another
 * repository may borrow them), -l keeps borrowed objects out of our pack, bitmaps only for a
 * repository that borrows nothing; partial clones are left alone (promisor.ts).
 */
import type { Git } from '../../shared/git/index.js';
import { readAlternate } from '../../shared/repo/inspect.js';
import { isPromisorRepo } from '../../shared/repo/promisor.js';

export async function repackArchived(git: Git, repo: string): Promise<{ repacked: boolean; note?: string }> {
  if (isPromisorRepo(repo)) return { repacked: false, note: 'archived, but a partial clone: not repacked' };
  const borrows = (await readAlternate(repo)) !== null;
  await git.run({ gitDir: repo, args: ['repack', '-q', '-A', '-d', '-f', '-l', '--depth=250', '--window=250', ...(borrows ? [] : ['-b'])] });
  await git.run({ gitDir: repo, args: ['pack-refs', '--all'] });
  return { repacked: true };
}
