/**
 * Alternates that leave the mirror: an `objects/info/alternates` line naming an object directory
 * outside the places this mirror owns (its toplevel and its objstore directory). `git clone` from a
 * local path copies the source's alternates, so a replica fed from a path inherited the origin's
 * objstore and held no objects of its own: it broke as soon as the origin repacked, pruned or moved,
 * and could not serve a next tier elsewhere. Such a repository takes the borrowed objects in and
 * drops the line, in an order that a kill at any point leaves safe: `repack -a` (which copies what
 * the alternates lend, and replaces packs atomically) first, then the alternates file is rewritten
 * atomically without the foreign lines, then connectivity is checked (the old file is put back if it
 * fails). A kill before the rewrite leaves a complete repository that still borrows: the next run
 * starts again.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { GrokError } from '../errors.js';
import type { Git } from '../git/index.js';
import { isUnder } from '../manifest/keys.js';
import { alternatesFile, writeAlternates } from './alternates.js';

/** The directories a mirror owns, resolved, for the `roots` arguments below. */
export function ownRoots(...dirs: string[]): string[] {
  return dirs.map((d) => {
    try {
      return realpathSync(d);
    } catch {
      return path.resolve(d);
    }
  });
}

interface Line {
  readonly text: string;
  readonly foreign: boolean;
}

function readLines(gitDir: string, roots: readonly string[]): Line[] | null {
  const file = alternatesFile(gitDir);
  // Most repositories have none: a stat is a tenth of what a failed read costs (Node builds an error).
  if (!existsSync(file)) return null;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      if (l.trim().startsWith('#')) return { text: l, foreign: false };
      const dir = path.resolve(path.join(gitDir, 'objects'), l.trim());
      let real: string;
      try {
        real = realpathSync(dir);
      } catch {
        real = dir; // gone: judged by where it was
      }
      return { text: l, foreign: !roots.some((r) => isUnder(r, real)) };
    });
}

/** The alternates lines of `gitDir` that name a directory outside every root (none: []). */
export function foreignAlternates(gitDir: string, roots: readonly string[]): string[] {
  return (readLines(gitDir, roots) ?? []).filter((l) => l.foreign).map((l) => l.text.trim());
}

/**
 * Takes in every object `gitDir` borrows from outside the roots and drops those lines; returns the
 * lines dropped. The caller holds the repository's lock. `-k` keeps objects the repository's own refs
 * do not reach: another repository may share its object directory.
 */
export async function takeInForeign(git: Git, gitDir: string, roots: readonly string[]): Promise<string[]> {
  const lines = readLines(gitDir, roots);
  const foreign = (lines ?? []).filter((l) => l.foreign);
  if (lines === null || foreign.length === 0) return [];
  const file = alternatesFile(gitDir);
  const before = readFileSync(file, 'utf8');
  await git.run({ gitDir, args: ['repack', '-q', '-a', '-d', '-k'] });
  const keep = lines.filter((l) => !l.foreign).map((l) => `${l.text}\n`).join('');
  if (keep === '') await rm(file, { force: true });
  else await writeAlternates(gitDir, keep);
  const res = await git.run({ gitDir, args: ['fsck', '--connectivity-only', '--no-progress', '--no-dangling'], okExit: Array.from({ length: 255 }, (_, i) => i + 1) });
  if (res.exitCode !== 0) {
    await writeAlternates(gitDir, before);
    const why = res.stderr.trim().split('\n').slice(-3).join('; ') || `git fsck exited with status ${res.exitCode}`;
    throw new GrokError('GROK_ERR_GIT_FAILED', `${gitDir}: still needs what it borrowed from ${foreign.map((l) => l.text.trim()).join(', ')} (${why}); its alternates are left as they were`, { repo: gitDir });
  }
  return foreign.map((l) => l.text.trim());
}
