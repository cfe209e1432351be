/**
 * A toplevel whose manifest is in grokmirror's form (one gzip member), and a real grok-origin on it:
 * for the tests of the start-up that listens first and builds the slices after (origin.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import type { ManifestEntry } from '../../shared/manifest/entry.js';
import { BIN } from './fixture.js';
import { makeRepo } from './git.js';
import { spawnKillable, type Killable } from './killable.js';
import { tmpDir } from './tmp.js';

type Teardown = Parameters<typeof tmpDir>[0];

export const entry = (i: number): ManifestEntry => ({ fingerprint: i.toString(16).padStart(40, '0'), head: 'ref: refs/heads/master', modified: 1_600_000_000 + i, reference: null, description: `repo ${i}` });

/** A toplevel with one real repository (a.git, listed) and `n` synthetic entries, in grokmirror's form. */
export function oneMember(t: Teardown, n: number, text?: (doc: Record<string, ManifestEntry>) => string): { top: string; file: string; repo: string; original: Buffer } {
  const top = path.join(tmpDir(t), 'top');
  const repo = path.join(top, 'a.git');
  makeRepo(repo);
  const doc: Record<string, ManifestEntry> = { '/a.git': { ...entry(0), fingerprint: 'f'.repeat(40) } };
  for (let i = 1; i <= n; i++) doc[`/synthetic/r${i}.git`] = entry(i);
  const file = path.join(top, 'manifest.js.gz');
  writeFileSync(file, gzipSync(text ? text(doc) : JSON.stringify(doc)));
  return { top, file, repo, original: readFileSync(file) };
}

/** A real grok-origin on `top`; its config file beside the toplevel. */
export function spawnOrigin(t: Teardown, top: string): Killable {
  const conf = path.join(path.dirname(top), 'origin.conf');
  writeFileSync(conf, `[core]\ntoplevel = ${top}\nmanifest = ${path.join(top, 'manifest.js.gz')}\n[origin]\nlisten = 127.0.0.1:0\n`);
  const proc = spawnKillable(BIN.origin, ['-c', conf]);
  t.teardown(() => void proc.kill('group'));
  return proc;
}

export async function listening(proc: Killable): Promise<string | null> {
  for (let i = 0; i < 3000; i++) {
    const m = /listening on (http:\/\/\S+)/.exec(proc.stdout());
    if (m) return m[1]!;
    if (proc.exited()) return null;
    await sleep(20);
  }
  throw new Error('grok-origin neither listened nor exited in a minute');
}
