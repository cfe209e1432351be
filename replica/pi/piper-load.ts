/**
 * A repository's piper state as the run starts: ours, grokmirror's `pi-piper.latest`, or both
 * (whichever is further along, so that runs of grokmirror's piper in between are not piped again),
 * and the states of the list's other epochs, which decide where a new epoch starts.
 */
import type { Git } from '../../shared/git/index.js';
import type { Logger } from '../../shared/log.js';
import { describeError } from '../../shared/errors.js';
import { commitInfo, isAncestor } from './epoch-git.js';
import { epochRepo, epochsOnDisk, type EpochPath } from './epochs.js';
import type { PiperState, Sibling } from './piper-plan.js';
import { readLatest, readOurState } from './piper-state.js';

/** grokmirror's state: a commit only. Its message seeds the list used to find our place after a rewrite. */
async function fromLatest(git: Git, repo: string, latest: string, base?: PiperState): Promise<PiperState> {
  const info = await commitInfo(git, repo, latest);
  const recent = [...(base?.recent ?? []), ...(info?.m ? [info.m] : [])];
  return { commit: latest, ct: info?.ct ?? 0, since: base?.since ?? 0, recent };
}

export async function loadState(git: Git, repo: string): Promise<PiperState | null> {
  const ours = readOurState(repo);
  const latest = readLatest(repo);
  if (!latest || latest === ours?.commit) return ours;
  if (!ours) return fromLatest(git, repo, latest);
  // Ours is written first, theirs at the end of a run: theirs behind ours is one of our runs cut short.
  if (await isAncestor(git, repo, ours.commit, latest)) return fromLatest(git, repo, latest, ours);
  return ours;
}

/** The other epochs of the list on disk; an unreadable state counts as none (with a warning). */
export function siblingStates(at: EpochPath, log: Logger): Sibling[] {
  const out: Sibling[] = [];
  for (const epoch of epochsOnDisk(at.inboxDir)) {
    if (epoch === at.epoch) continue;
    const repo = epochRepo(at.inboxDir, epoch);
    let state: PiperState | null = null;
    try {
      state = readOurState(repo);
      if (!state) {
        const latest = readLatest(repo);
        if (latest) state = { commit: latest, ct: 0, since: 0, recent: [] };
      }
    } catch (err) {
      log.warn({ repo }, `${repo}: ${describeError(err)}`);
    }
    out.push({ epoch, state });
  }
  return out;
}
