/**
 * The public-inbox v2 layout as mirrored from lore.kernel.org-style origins: one git repository per epoch
 * of a list, `<inboxdir>/git/<N>.git`, epochs numbered from 0, a new one started when the last grows too big.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

export interface EpochPath {
  /** The list's directory (`<inboxdir>`), the parent of `git/`. */
  readonly inboxDir: string;
  /** The list's name: the inbox directory's own name. */
  readonly name: string;
  readonly epoch: number;
}

const EPOCH_RE = /^(\d{1,9})\.git$/;

/** `<inboxdir>/git/<N>.git` (a trailing slash allowed); null for any other path. */
export function parseEpochPath(repo: string): EpochPath | null {
  const clean = repo.replace(/\/+$/, '');
  const m = EPOCH_RE.exec(path.basename(clean));
  const gitDir = path.dirname(clean);
  if (!m || path.basename(gitDir) !== 'git') return null;
  const inboxDir = path.dirname(gitDir);
  const name = path.basename(inboxDir);
  if (name === '' || name === '/' || name === '.' || name === '..') return null;
  return { inboxDir, name, epoch: Number(m[1]) };
}

export function epochRepo(inboxDir: string, epoch: number): string {
  return path.join(inboxDir, 'git', `${epoch}.git`);
}

/** The epoch numbers present on disk under `<inboxdir>/git/`, ascending. */
export function epochsOnDisk(inboxDir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(path.join(inboxDir, 'git'));
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const n of names) {
    const m = EPOCH_RE.exec(n);
    if (m) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}
