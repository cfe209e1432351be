/**
 * A URL's state words, and the JSON record earlier list-mode sweeps kept (one entry per listed URL),
 * read once to take it into the state database (state-db.ts).
 */
import { promises as fsp } from 'node:fs';
import { GrokError } from '../../shared/errors.js';

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
  /** refs-digest.ts of the mirror after the check (kept in the state database, not in the JSON). */
  digest?: string;
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

