/**
 * A repository's root commits (`git rev-list --max-parents=0 --all`), cached in `grokmirror.roots`
 * one per line as grokmirror does. The cache is trusted while it is newer than the fingerprint file
 * (grok-pull and grok-manifest rewrite that file whenever the refs change); otherwise, or without a
 * fingerprint file, the roots are computed again.
 *
 * Written byte for byte as grokmirror writes it, with no newline after the last root: grokmirror
 * reads the file as `set(text.split('\n'))`, so a final newline adds an empty "root" that every such
 * repository shares, and its grok-fsck then groups unrelated repositories into one objstore. A cache
 * with that newline (written by earlier versions) is computed and written again.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { atomicWrite } from '../fs/atomic.js';
import type { Git } from '../git/index.js';
import { FINGERPRINT_FILE } from '../repo/fingerprint-file.js';

export const ROOTS_FILE = 'grokmirror.roots';

function mtimeMs(file: string): number | null {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

function cached(repo: string): string[] | null {
  const rootsAt = mtimeMs(path.join(repo, ROOTS_FILE));
  const fpAt = mtimeMs(path.join(repo, FINGERPRINT_FILE));
  if (rootsAt === null || fpAt === null || rootsAt < fpAt) return null;
  try {
    const text = readFileSync(path.join(repo, ROOTS_FILE), 'utf8');
    if (text.endsWith('\n')) return null;
    return text.split('\n').filter((l) => /^[0-9a-f]{40,64}$/.test(l));
  } catch {
    return null;
  }
}

export async function repoRoots(git: Git, repo: string): Promise<string[]> {
  const hit = cached(repo);
  if (hit) return hit;
  const out = await git.run({ gitDir: repo, args: ['rev-list', '--max-parents=0', '--all'] });
  const roots = [...new Set(out.stdout.toString('utf8').split('\n').filter((l) => l !== ''))].sort();
  await atomicWrite(path.join(repo, ROOTS_FILE), roots.join('\n'), { noSync: true }).catch(() => {});
  return roots;
}
