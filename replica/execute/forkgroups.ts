/** What the work on one repository needs to know about its forkgroup (see apply-action.ts). */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { GrokConfig } from '../../shared/config/config.js';
import { matchesAny } from '../../shared/glob.js';
import type { Manifest } from '../../shared/manifest/entry.js';
import { keyToPath } from '../../shared/manifest/keys.js';
import { isPromisorRepo } from '../../shared/repo/promisor.js';
import { readAlternate } from '../../shared/repo/inspect.js';

/** Of these repositories, the ones here that borrow from an objstore of [core] objstore: key -> objstore name. */
export async function objstoresHeld(config: GrokConfig, toplevel: string, keys: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const dir = await fsp.realpath(path.resolve(toplevel, path.relative(config.core.toplevel, config.core.objstore))).catch(() => null);
  if (!dir) return out;
  for (const k of keys) {
    const alt = await readAlternate(keyToPath(toplevel, k)).catch(() => null);
    if (alt?.objstoreMembers && path.dirname(alt.repo) === dir) out.set(k, path.basename(alt.repo, '.git'));
  }
  return out;
}

export function forkgroupContext(config: GrokConfig, toplevel: string, local: Manifest) {
  const privateGlobs = config.core.private;
  return {
    objstoreDir: path.resolve(toplevel, path.relative(config.core.toplevel, config.core.objstore)),
    privateGlobs,
    preloadBundleUrl: config.remote.preload_bundle_url,
    /** A public, complete (not partial) repository of the forkgroup that is already here (the local manifest says so). */
    siblingOf(forkgroup: string, key: string): string | null {
      for (const [k, e] of local) {
        if (k === key || e.forkgroup !== forkgroup || matchesAny(k, privateGlobs)) continue;
        const p = keyToPath(toplevel, k);
        if (existsSync(path.join(p, 'HEAD')) && !isPromisorRepo(p)) return p;
      }
      return null;
    },
  };
}
