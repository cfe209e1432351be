/**
 * grok-pi-piper on one repository: where to start (piper-plan), the commits to go through, each new
 * message piped in history order with the state written before and after it, then the prune of
 * `shallow = yes`. A failing pipe command stops the run where it is: that message and the ones after
 * it are piped by the next run.
 */
import path from 'node:path';
import { GrokError } from '../../shared/errors.js';
import type { Git } from '../../shared/git/index.js';
import { acquireLock, isLockBusy, lockPathFor } from '../../shared/lock.js';
import type { Logger } from '../../shared/log.js';
import { epochCommits, isAncestor, masterTip, MASTER, readBlob, readBlobs } from './epoch-git.js';
import { parseEpochPath } from './epochs.js';
import { pipeMessage, type PipeOutcome } from './pipe-command.js';
import { advance, classify, isNew, planStart, resumeAfterRewrite, type EpochCommit, type PiperState } from './piper-plan.js';
import { loadState, siblingStates } from './piper-load.js';
import { stateFileFor, writeLatest, writeState } from './piper-state.js';
import { pruneBefore } from './shallow.js';

export interface PiperOptions {
  readonly repo: string;
  /** The pipe command, resolved (resolvePipe). */
  readonly pipe: readonly string[];
  readonly shallow: boolean;
  readonly dryRun: boolean;
  readonly pipeLast: number | null;
}

export interface PiperDeps {
  readonly git: Git;
  readonly log: Logger;
  /** Seconds. */
  readonly now: () => number;
  readonly pipeMessage?: (argv: readonly string[], message: Buffer) => Promise<PipeOutcome>;
  readonly lockTimeoutMs?: number;
  /** A monotonic clock in ms (performance.now), for SYNC_EVERY_MS. */
  readonly clockMs?: () => number;
}

export interface PiperResult {
  readonly ok: boolean;
  /** The one line that tells what happened to this repository. */
  readonly line: string;
  readonly piped: number;
}

interface Work {
  readonly commits: readonly EpochCommit[];
  /** Commits of a new epoch older than following (not piped). */
  readonly minCt: number | null;
  /** What the log should say about where piping resumed. */
  readonly note?: { readonly level: 'info' | 'warn'; readonly text: string };
}

export async function runPiper(opts: PiperOptions, deps: PiperDeps): Promise<PiperResult> {
  const repo = path.resolve(opts.repo);
  const at = parseEpochPath(repo);
  if (!at) return { ok: true, piped: 0, line: `${repo}: not a public-inbox epoch (<list>/git/<N>.git); nothing to do` };
  const tip = await masterTip(deps.git, repo);
  if (!tip) return { ok: true, piped: 0, line: `${repo}: no ${MASTER} yet; nothing to do` };
  let held;
  try {
    held = await acquireLock(lockPathFor(stateFileFor(repo)), { timeoutMs: deps.lockTimeoutMs ?? 60_000 });
  } catch (err) {
    if (isLockBusy(err)) throw new GrokError('GROK_ERR_LOCK', `${repo}: another grok-pi-piper is working on it; its messages are left for the next run`, { repo });
    throw err;
  }
  try {
    return await runLocked(repo, at.epoch, tip, opts, deps, siblingStates(at, deps.log));
  } finally {
    await held.release();
  }
}

async function runLocked(repo: string, epoch: number, tip: { commit: string; ct: number }, opts: PiperOptions, deps: PiperDeps, siblings: ReturnType<typeof siblingStates>): Promise<PiperResult> {
  const { git, log } = deps;
  const rlog = log.child({ repo });
  const saved = await loadState(git, repo);
  const start = planStart({ epoch, state: saved, siblings, pipeLast: opts.pipeLast, now: deps.now() });
  if (start.kind === 'init') {
    if (opts.dryRun) return { ok: true, piped: 0, line: `${repo}: would start following at ${tip.commit.slice(0, 12)} (${start.why}) [dry run]` };
    await writeState(repo, { commit: tip.commit, ct: tip.ct, since: start.since, handled: 0, recent: [] });
    await writeLatest(repo, tip.commit);
    if (opts.shallow) await pruneBefore(git, repo, tip.commit);
    return { ok: true, piped: 0, line: `${repo}: following from ${tip.commit.slice(0, 12)} (${start.why}); nothing piped` };
  }
  const work = await findWork(repo, start, saved, tip, deps);
  if (work.note) rlog[work.note.level](`${repo}: ${work.note.text}`);
  let state: PiperState = saved ?? { commit: tip.commit, ct: tip.ct, since: start.kind === 'root' ? start.since : deps.now(), handled: 0, recent: [] };
  const pipe = deps.pipeMessage ?? pipeMessage;
  const counts = { piped: 0, deletion: 0, purged: 0, other: 0, older: 0 };
  let failure = '';
  let dirty = false;
  const sync = syncClock(deps.clockMs ?? (() => performance.now()));
  let blobs = new Map<string, Buffer>();
  for (const [i, c] of work.commits.entries()) {
    const kind = classify(c);
    const older = !isNew(c, work.minCt);
    if (older || kind !== 'message') {
      counts[older ? 'older' : (kind as 'deletion' | 'purged' | 'other')]++;
      state = advance(state, c, false, !older);
      dirty = true;
      continue;
    }
    if (!blobs.has(c.m!)) blobs = await readBlobs(git, repo, nextMessages(work.commits, i, work.minCt));
    const message = blobs.get(c.m!) ?? (await readBlob(git, repo, c.m!));
    if (opts.dryRun) {
      rlog.info({ action: 'pipe', commit: c.commit, bytes: message.length }, `would pipe ${c.commit} (${message.length} b) [dry run]`);
      counts.piped++;
      continue;
    }
    if (saved?.inflight === c.commit) rlog.warn(`${repo}: ${c.commit} was being piped when a run was stopped; piping it again (it may have been delivered already)`);
    await writeState(repo, { ...state, inflight: c.commit }, false);
    const out = await pipe(opts.pipe, message);
    if (!out.ok) {
      failure = `${opts.pipe[0]} failed on ${c.commit} (${out.status})${out.stderr ? `: ${out.stderr.split('\n')[0]}` : ''}; it and what follows are left for the next run`;
      await writeState(repo, state);
      break;
    }
    rlog.info({ action: 'pipe', commit: c.commit, bytes: message.length }, `piped ${c.commit} (${message.length} b)`);
    state = advance(state, c, true);
    await writeState(repo, state, sync.due());
    dirty = false;
    counts.piped++;
  }
  if (!opts.dryRun) {
    if (dirty || sync.behind() || !saved) await writeState(repo, state);
    if (state.commit !== saved?.commit) await writeLatest(repo, state.commit);
    if (opts.shallow && !failure && state.commit !== saved?.commit) await pruneBefore(git, repo, state.commit);
  }
  return { ok: !failure, piped: counts.piped, line: summary(repo, counts, opts.dryRun, failure) };
}

async function findWork(repo: string, start: Exclude<ReturnType<typeof planStart>, { kind: 'init' }>, saved: PiperState | null, tip: { commit: string }, deps: PiperDeps): Promise<Work> {
  const list = async (range: string, max?: number) => {
    const out: EpochCommit[] = [];
    for await (const c of epochCommits(deps.git, repo, { range, oldestFirst: true, ...(max !== undefined ? { max } : {}) })) out.push(c);
    return out;
  };
  switch (start.kind) {
    case 'last':
      return { commits: await list(MASTER, start.n), minCt: null };
    case 'root':
      return { commits: await list(MASTER), minCt: start.minCt, note: { level: 'info', text: `${start.why}: piping its history` } };
    case 'continue': {
      if (start.from === tip.commit) return { commits: [], minCt: null };
      if (await isAncestor(deps.git, repo, start.from)) return { commits: await list(`${start.from}..${MASTER}`), minCt: null };
      const r = await resumeAfterRewrite(epochCommits(deps.git, repo, { range: MASTER, oldestFirst: false }), saved!);
      const where = r.how === 'anchor' ? `after ${r.anchor!.slice(0, 12)}, the newest message already piped` : `by commit date: none of the last piped messages is left`;
      return { commits: r.commits, minCt: null, note: { level: 'warn', text: `history rewritten (${start.from.slice(0, 12)} is gone from ${MASTER}); resuming ${where}` } };
    }
  }
}

/**
 * The state written after each message goes to disk (fsync) at most this often, and always when the
 * run ends or fails. A kill of the process loses nothing (the rename is in the page cache); only a
 * crash of the machine can take back the messages of the last second, which the next run then pipes
 * again (never skips). Two fsyncs per message were a third of the time per message (BENCHMARKS.md,
 * "pi-piper"), more than the pipe command itself costs.
 */
export const SYNC_EVERY_MS = 1000;

/** Whether this write is to be synced (due: SYNC_EVERY_MS since the last synced one), and whether a write since was not. */
function syncClock(nowMs: () => number): { due: () => boolean; behind: () => boolean } {
  let last = nowMs();
  let behind = false;
  return {
    due: () => {
      const now = nowMs();
      behind = now - last < SYNC_EVERY_MS;
      if (!behind) last = now;
      return !behind;
    },
    behind: () => behind,
  };
}

/** Messages read per git process: bounded, so that a new epoch of a busy list is not held in memory at once. */
const BLOB_CHUNK = 64;

/** The message blobs of the next BLOB_CHUNK commits to pipe, from `from` on. */
function nextMessages(commits: readonly EpochCommit[], from: number, minCt: number | null): string[] {
  const oids: string[] = [];
  for (let i = from; i < commits.length && oids.length < BLOB_CHUNK; i++) {
    const c = commits[i]!;
    if (classify(c) === 'message' && isNew(c, minCt)) oids.push(c.m!);
  }
  return oids;
}

function summary(repo: string, c: { piped: number; deletion: number; purged: number; other: number; older: number }, dryRun: boolean, failure: string): string {
  const parts = [`${dryRun ? 'would pipe' : 'piped'} ${c.piped} message${c.piped === 1 ? '' : 's'}`];
  if (c.deletion) parts.push(`${c.deletion} deletion${c.deletion === 1 ? '' : 's'} skipped`);
  if (c.purged) parts.push(`${c.purged} purged skipped`);
  if (c.older) parts.push(`${c.older} older than following skipped`);
  if (c.other) parts.push(`${c.other} without a message skipped`);
  return `${repo}: ${parts.join(', ')}${dryRun ? ' [dry run]' : ''}${failure ? `; ${failure}` : ''}`;
}
