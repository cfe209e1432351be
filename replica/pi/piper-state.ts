/**
 * Where grok-pi-piper stopped in a repository. Two files:
 * - `<inboxdir>/git/<N>.git.pi-piper.json`, ours: beside the repository rather than in it, so that a
 *   reclone (which replaces the repository directory) does not make it start over;
 * - `<repo>/pi-piper.latest`, grokmirror's (the last commit, no newline), kept current at the end of
 *   each run so that grokmirror's grok-pi-piper can take over, and read when ours has no state yet.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GrokError } from '../../shared/errors.js';
import { atomicWrite, atomicWriteSmallSync } from '../../shared/fs/atomic.js';
import type { PiperState } from './piper-plan.js';

const OID_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export function stateFileFor(repo: string): string {
  const clean = repo.replace(/\/+$/, '');
  return path.join(path.dirname(clean), `${path.basename(clean)}.pi-piper.json`);
}

export function latestFileFor(repo: string): string {
  return path.join(repo, 'pi-piper.latest');
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new GrokError('GROK_ERR_PI_STATE', `cannot read ${file}: ${(err as Error).message}`, { file }, { cause: err });
  }
}

const bad = (file: string, why: string): never => {
  throw new GrokError('GROK_ERR_PI_STATE', `${file}: ${why}; move it aside to start this repository afresh`, { file });
};

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Our state file, checked field by field; null when there is none. */
export function readOurState(repo: string): PiperState | null {
  const file = stateFileFor(repo);
  const text = readText(file);
  if (text === null) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return bad(file, 'not valid JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return bad(file, 'not a JSON object');
  const o = doc as Record<string, unknown>;
  if (typeof o.commit !== 'string' || !OID_RE.test(o.commit)) return bad(file, '"commit" is not an object id');
  if (!isCount(o.ct) || !isCount(o.since)) return bad(file, '"ct" and "since" must be whole numbers of seconds');
  if (o.handled !== undefined && !isCount(o.handled)) return bad(file, '"handled" must be a count');
  if (!Array.isArray(o.recent) || !o.recent.every((b) => typeof b === 'string' && OID_RE.test(b))) return bad(file, '"recent" must list object ids');
  if (o.inflight !== undefined && (typeof o.inflight !== 'string' || !OID_RE.test(o.inflight))) return bad(file, '"inflight" is not an object id');
  return {
    commit: o.commit,
    ct: o.ct,
    since: o.since,
    ...(o.handled !== undefined ? { handled: o.handled as number } : {}),
    recent: o.recent as string[],
    ...(o.inflight !== undefined ? { inflight: o.inflight as string } : {}),
  };
}

/** grokmirror's `pi-piper.latest`: the last piped commit; null when absent. */
export function readLatest(repo: string): string | null {
  const file = latestFileFor(repo);
  const text = readText(file);
  if (text === null) return null;
  const oid = text.trim();
  if (!OID_RE.test(oid)) return bad(file, 'does not hold a commit id');
  return oid;
}

/**
 * `durable: false` (no fsync, still atomic) for the note written before a message is piped (which
 * message was in flight: it only lets the next run say that it pipes one again), and for the state
 * after a message when the run synced one less than a second ago (piper-run.ts, SYNC_EVERY_MS).
 */
export async function writeState(repo: string, state: PiperState, durable = true): Promise<void> {
  const text = `${JSON.stringify(state)}\n`;
  // Without fsync, synchronously: two such writes per message, and on a busy machine each of the
  // promise API's trips through the threadpool waits for a CPU (BENCHMARKS.md, "pi-piper").
  if (durable) await atomicWrite(stateFileFor(repo), text);
  else atomicWriteSmallSync(stateFileFor(repo), text);
}

/** grokmirror's file, as grokmirror writes it. */
export async function writeLatest(repo: string, commit: string): Promise<void> {
  await atomicWrite(latestFileFor(repo), commit);
}
