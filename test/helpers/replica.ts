import path from 'node:path';
import { buildConfig, type GrokConfig } from '../../shared/config/config.js';
import { parseIni } from '../../shared/config/ini.js';
import { Git } from '../../shared/git/index.js';
import { silentLogger } from '../../shared/log.js';
import { runPull, type PullResult, type PullRunOptions } from '../../replica/run.js';

// a config file's mtime in ms; grok-pull compares it in whole seconds, as grokmirror does
let generation = 1_600_000_000_000;

/** A replica's config; `extra` adds lines to [pull] (and may open further sections). */
export function replicaConfig(mirror: string, site: string, extra = '', manifestUrl?: string): GrokConfig {
  const text = `[core]\ntoplevel = ${mirror}\nmanifest = ${path.join(mirror, 'manifest.js.gz')}\n[remote]\nsite = ${site}\nmanifest = ${manifestUrl ?? `${site}/manifest.js.gz`}\n[pull]\nprojectslist = ${path.join(mirror, 'projects.list')}\npull_threads = 4\n${extra}`;
  // a new "config mtime" each time would force full re-reads; keep it stable per mirror
  return buildConfig(parseIni(text, path.join(mirror, '..', 'replica.conf')), generation);
}

export function bumpConfig(): void {
  generation += 1000;
}

export function pull(config: GrokConfig, opts: Partial<PullRunOptions> = {}): Promise<PullResult> {
  return runPull(config, { force: false, purge: false, forcePurge: false, ...opts }, { git: new Git(), log: silentLogger(), now: Date.now, sleep: async () => {} });
}
