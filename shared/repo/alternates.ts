/**
 * A repository's alternates file (`objects/info/alternates`): where it is, and the one way we write it.
 * Every writer (joining or adopting into an objstore, grok-pull's clones and updates, taking in what a
 * repository borrowed from outside a mirror) holds the repository's lock, so a temp file of it found by
 * a writer is a killed writer's, and goes first.
 */
import path from 'node:path';
import { atomicWrite, removeStaleTemps } from '../fs/atomic.js';

export function alternatesFile(gitDir: string): string {
  return path.join(gitDir, 'objects', 'info', 'alternates');
}

/** For a caller holding the repository's lock: the file then holds exactly `text`. */
export async function writeAlternates(gitDir: string, text: string): Promise<void> {
  const file = alternatesFile(gitDir);
  await removeStaleTemps(file);
  await atomicWrite(file, text);
}

/** The temp files of alternates writes that were killed: for a caller holding the repository's lock. */
export function removeKilledAlternatesWrites(gitDir: string): Promise<string[]> {
  return removeStaleTemps(alternatesFile(gitDir));
}
