/** What the work on one repository needs to know about its forkgroup (see repo-work.ts). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { GrokConfig } from '../../shared/config/config.js';
import { matchesAny } from '../../shared/glob.js';
import type { Manifest } from '../../shared/manifest/entry.js';
import { keyToPath } from '../../shared/manifest/keys.js';
import { isPromisorRepo } from '../../shared/repo/promisor.js';

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
