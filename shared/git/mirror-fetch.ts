/**
 * How a mirror (or an objstore) fetches from its remote. Besides `-q --prune`, things a plain
 * `git fetch` does that a mirror does not need, each a cost on every fetch of a large collection:
 * - `--no-auto-maintenance`: fetch would start `git maintenance run --auto`, one more process per
 *   fetched repository, only to find gc.auto=0; grok-pull and grok-fsck decide on repacks themselves.
 * - `--no-write-fetch-head`: nobody reads FETCH_HEAD in a mirror; it is one more file write per fetch.
 * - `--no-show-forced-updates`, only when every refspec forces ("+"): git then skips the merge-base
 *   walk per moved ref that tells a fast-forward from a forced update. It must stay on for ffonly
 *   mirrors (refspecs without "+"): without that walk git takes every update for a fast-forward
 *   and would accept the very rewrites ffonly is there to refuse (test/replica/pull.test.ts).
 * (git >= 2.29 for all three.)
 */
import { untrusted, type GitCommand } from './command.js';

export function mirrorFetch(gitDir: string, remote: string, opts: { forcedRefspecs: boolean }): GitCommand {
  const args = ['fetch', '-q', '--prune', '--no-auto-maintenance', '--no-write-fetch-head', ...(opts.forcedRefspecs ? ['--no-show-forced-updates'] : [])];
  return { gitDir, args: [...args, untrusted(remote)] };
}
