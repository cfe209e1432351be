import path from 'node:path';
import { runManifest, type ManifestRunOptions, type ManifestRunResult } from '../../origin/manifest/run.js';
import { Git } from '../../shared/git/index.js';
import { silentLogger } from '../../shared/log.js';
import type { ManifestEntry } from '../../shared/manifest/entry.js';
import { readManifestFile } from '../../shared/manifest/io.js';

export const NOW_MS = 1_800_000_000_000;

export function manifestOptions(top: string, file: string, over: Partial<ManifestRunOptions> = {}): ManifestRunOptions {
  return {
    toplevel: top,
    manifestFile: file,
    paths: [],
    pretty: false,
    useNow: false,
    checkExportOk: false,
    purge: false,
    remove: false,
    wait: false,
    fetchObjstore: false,
    regenerate: false,
    ignorePaths: [],
    ignoreRefs: [],
    ...over,
  };
}

export async function runM(top: string, file: string, over: Partial<ManifestRunOptions> = {}): Promise<ManifestRunResult> {
  return runManifest(manifestOptions(top, file, over), { git: new Git(), log: silentLogger(), now: () => NOW_MS });
}

export async function readM(file: string): Promise<Record<string, ManifestEntry>> {
  const parsed = await readManifestFile(file);
  if (!parsed) throw new Error(`${file} missing`);
  return Object.fromEntries(parsed.entries);
}

export const mfile = (dir: string, name = 'manifest.js.gz') => path.join(dir, name);
