/** What an origin publishes, for grok-fsck's privacy rule (inventory.ts). */
import type { GrokConfig } from '../config/config.js';
import { describeError } from '../errors.js';
import { readManifestFile } from '../manifest/io.js';

/**
 * On an origin, what it publishes: the manifest's keys (grok-origin serves nothing else). With no
 * manifest yet, what the first walk will list (every repository not ignored, exported when
 * check_export_ok says so: the other privacy rules), as grok-origin builds it on its first start.
 * When the manifest cannot be read, no repository may join an objstore this run (it might be one
 * the origin keeps to itself); members stay as they are.
 */
export async function publishedKeys(config: GrokConfig): Promise<{ keys: ReadonlySet<string> | null } | { unknown: string }> {
  try {
    const parsed = await readManifestFile(config.core.manifest, config.core.manifest_max_size);
    return { keys: parsed ? new Set(parsed.entries.keys()) : null };
  } catch (err) {
    return { unknown: `${config.core.manifest} cannot be read (${describeError(err)})` };
  }
}
