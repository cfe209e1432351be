/**
 * `shallow = yes`: once messages are piped, the history up to the last one handled is dropped. The
 * repository becomes a shallow clone whose boundary is that commit (git's own `shallow` file), and
 * what only the old history used is pruned; later fetches add new commits on top as usual, and
 * `git fetch --deepen N` brings old messages back.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { atomicWrite } from '../../shared/fs/atomic.js';
import type { Git } from '../../shared/git/index.js';

export async function pruneBefore(git: Git, repo: string, commit: string): Promise<void> {
  await atomicWrite(path.join(repo, 'shallow'), `${commit}\n`);
  // -l: objects borrowed through alternates (an objstore) stay there, not copied in.
  await git.run({ gitDir: repo, args: ['repack', '-a', '-d', '-l', '-q'] });
  await git.run({ gitDir: repo, args: ['prune', '--expire=now'] });
  // git ignores commit-graphs in shallow repositories, and one written before names commits now gone
  // (git fsck reports them).
  rmSync(path.join(repo, 'objects/info/commit-graph'), { force: true });
  rmSync(path.join(repo, 'objects/info/commit-graphs'), { recursive: true, force: true });
}
