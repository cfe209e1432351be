/**
 * The record of a list-mode sweep, one entry per listed URL: where it is mirrored, what happened last
 * time, how many attempts that took, the last error, and for repositories that keep failing, since
 * when. JSON, replaced atomically (shared/fs/atomic.ts) so a crash leaves the previous record.
 */
import { promises as fsp } from 'node:fs';
import { GrokError } from '../../shared/errors.js';
import { atomicWrite } from '../../shared/fs/atomic.js';
import { redactUrls, safeText } from '../../shared/safe-text.js';

export type RepoState = 'pending' | 'fetched' | 'unchanged' | 'not_found' | 'auth_required' | 'failed' | 'invalid';

export interface StateEntry {
  /** Manifest key of the mirror (absent for URLs refused by the path rules). */
  key?: string;
  state: RepoState;
  /** Attempts the last sweep made (retries included). */
  attempts: number;
  /** Sweeps in a row that ended in a failure state; 0 after a success. */
  failures: number;
  lastError?: string;
  /** Epoch seconds. */
  lastChecked?: number;
  lastChanged?: number;
}

export interface SweepState {
  version: 1;
  repos: Record<string, StateEntry>;
}

export function emptyState(): SweepState {
  return { version: 1, repos: {} };
}

export async function readState(file: string): Promise<SweepState> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw new GrokError('GROK_ERR_STATUS_FILE', `cannot read state file ${file}: ${(err as Error).message}`, { file }, { cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new GrokError('GROK_ERR_STATUS_FILE', `state file ${file} is not valid JSON (${(err as Error).message}); move it aside to start afresh`, { file });
  }
  const d = doc as Partial<SweepState>;
  if (typeof d !== 'object' || d === null || d.version !== 1 || typeof d.repos !== 'object' || d.repos === null) {
    throw new GrokError('GROK_ERR_STATUS_FILE', `state file ${file} is not a grok-dumb-pull state (version 1); move it aside to start afresh`, { file });
  }
  return { version: 1, repos: Object.assign(Object.create(null), d.repos) as Record<string, StateEntry> };
}

/**
 * Written 0600: the record names every upstream, and errors quote git, which quotes URLs. Keys and
 * errors are redacted on the way out too (safe-text.ts), whatever put them in.
 */
export async function writeState(file: string, state: SweepState): Promise<void> {
  const repos: Record<string, StateEntry> = {};
  for (const [url, e] of Object.entries(state.repos)) repos[redactUrls(url)] = e.lastError === undefined ? e : { ...e, lastError: safeText(e.lastError) };
  await atomicWrite(file, `${JSON.stringify({ ...state, repos }, null, 1)}\n`, { mode: 0o600 });
}

/** How many URLs are in each state, for the summary line. */
export function countStates(state: SweepState): Record<RepoState, number> {
  const counts: Record<RepoState, number> = { pending: 0, fetched: 0, unchanged: 0, not_found: 0, auth_required: 0, failed: 0, invalid: 0 };
  for (const e of Object.values(state.repos)) counts[e.state]++;
  return counts;
}
