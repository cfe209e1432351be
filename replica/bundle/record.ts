/**
 * The record beside each bundle of what it was made from, in grokmirror's file (`.fingerprint` in the
 * bundle directory): the repository's fingerprint on the first line, as grokmirror writes it, so a
 * switch between the two tools does not rebuild every bundle. We add a line naming the -g/-r
 * arguments the bundle was made with, so that changing them rebuilds, and one naming the repository,
 * so that two repositories whose keys map to one directory are told apart (shared/bundle-layout.ts).
 * A record without the first (grokmirror's) counts as made with the default arguments, which are
 * grokmirror's too.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { atomicWrite } from '../../shared/fs/atomic.js';
import { DEFAULT_GITARGS, DEFAULT_REVLISTARGS, parseGitArgs, parseRevListArgs } from './args.js';
import { formatRecord, parseRecord, RECORD_FILE } from '../../shared/bundle-layout.js';

export interface BundleRecord {
  readonly fingerprint: string;
  readonly argsId: string;
  /** The repository's key; null in records that do not say. */
  readonly repo: string | null;
}

/** A short, stable name for the arguments a bundle is made with. */
export function argsIdOf(config: Readonly<Record<string, string>>, revlist: readonly string[]): string {
  const sorted = Object.fromEntries(Object.entries(config).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return createHash('sha1').update(JSON.stringify({ config: sorted, revlist })).digest('hex').slice(0, 16);
}

export const DEFAULT_ARGS_ID = argsIdOf(parseGitArgs(DEFAULT_GITARGS), parseRevListArgs(DEFAULT_REVLISTARGS));

export function readRecord(bundleDir: string): BundleRecord | null {
  let text: string;
  try {
    text = readFileSync(path.join(bundleDir, RECORD_FILE), 'utf8');
  } catch {
    return null;
  }
  const r = parseRecord(text);
  return r && { fingerprint: r.fingerprint, argsId: r.argsId ?? DEFAULT_ARGS_ID, repo: r.repo };
}

export async function writeRecord(bundleDir: string, rec: { readonly fingerprint: string; readonly argsId: string; readonly repo: string }): Promise<void> {
  await atomicWrite(path.join(bundleDir, RECORD_FILE), formatRecord(rec));
}
