/**
 * The fsck status file (`[fsck] statusfile`): JSON keyed by repository path, grokmirror's fields and
 * date format (`YYYY-MM-DD`, or "never"), so either tool can take over from the other. Scheduling is
 * pure: a repository is checked when its `nextcheck` has come (or with --force); a repository seen for
 * the first time gets its first check on a random day within `frequency`, so that a new mirror does
 * not check everything on the same night.
 */
import { readFileSync } from 'node:fs';
import { atomicWrite } from '../fs/atomic.js';
import { GrokError } from '../errors.js';

export interface RepoStatus {
  readonly lastcheck: string;
  readonly nextcheck: string;
  readonly fingerprint?: string | null;
  readonly lastrepack?: string;
  readonly lastfullrepack?: string;
  readonly s_elapsed?: number;
}

export type StatusFile = Record<string, RepoStatus>;

const DAY_MS = 86_400_000;

export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function addDays(day: string, days: number): string {
  return isoDay(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS);
}

export function readStatusFile(file: string): StatusFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // A damaged status file costs a schedule, not data: say so and start afresh.
    throw new GrokError('GROK_ERR_STATUS_FILE', `${file}: the fsck status file is not valid JSON (${(err as Error).message}); move it aside to start a new schedule`, { file });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new GrokError('GROK_ERR_STATUS_FILE', `${file}: the fsck status file is not a JSON object`, { file });
  }
  const out: StatusFile = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof v !== 'object' || v === null) continue;
    const r = v as Record<string, unknown>;
    if (typeof r.lastcheck !== 'string' || typeof r.nextcheck !== 'string') continue;
    out[k] = r as unknown as RepoStatus;
  }
  return out;
}

export async function writeStatusFile(file: string, status: StatusFile): Promise<void> {
  await atomicWrite(file, `${JSON.stringify(status, null, 2)}\n`);
}

/** Whether a repository's check is due today; `first` is the entry to record for a newcomer. */
export function checkDue(
  prev: RepoStatus | undefined,
  today: string,
  frequency: number,
  force: boolean,
  random: () => number,
): { due: boolean; first: RepoStatus | null } {
  if (force) return { due: true, first: null };
  if (!prev) {
    const first: RepoStatus = { lastcheck: 'never', nextcheck: addDays(today, Math.floor(random() * frequency)) };
    return { due: first.nextcheck <= today, first };
  }
  return { due: prev.nextcheck <= today, first: null };
}
