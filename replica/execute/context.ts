/** What a pass and a targeted update share: the planner's options and the work context, from config. */
import type { GrokConfig } from '../../shared/config/config.js';
import { GrokError } from '../../shared/errors.js';
import { partialFilterProblem } from '../../shared/git/partial-filter.js';
import type { Git } from '../../shared/git/index.js';
import type { Manifest } from '../../shared/manifest/entry.js';
import type { PullOptions } from '../plan.js';
import { transferSettings } from '../source/transfer.js';
import { ownRoots } from '../../shared/repo/foreign-alternates.js';
import { forkgroupContext } from './forkgroups.js';
import type { WorkContext } from './apply-action.js';

export function pullOptions(config: GrokConfig, purge: { purge: boolean; forcePurge: boolean }): PullOptions {
  return {
    include: config.pull.include,
    exclude: config.pull.exclude,
    nopurge: config.pull.nopurge,
    ffonly: config.pull.ffonly,
    purge: purge.purge,
    forcePurge: purge.forcePurge,
    purgeprotect: config.pull.purgeprotect,
    defaultOwner: config.pull.default_owner,
    site: config.remote.site,
  };
}

function listedSymlinks(local: Manifest): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [k, e] of local) for (const s of e.symlinks ?? []) out.set(s, [...(out.get(s) ?? []), k]);
  return out;
}

/**
 * `[remote] site` is a local path or a file:// URL (git's local clone copies the source's alternates):
 * as git tells, a path when it starts with "/" or has no ":" at all (`host:path` is ssh).
 */
export function isLocalSite(site: string): boolean {
  return site !== '' && (/^file:/i.test(site) || site.startsWith('/') || !site.includes(':'));
}

export function workContext(config: GrokConfig, git: Git, toplevel: string, local: Manifest, sleep: (ms: number) => Promise<void>, warned?: Set<string>): WorkContext {
  // Checked even without `partial` globs: an upstream's entry marked `"partial": true` uses it too.
  const filterWhy = partialFilterProblem(config.pull.partial_filter);
  if (filterWhy) throw new GrokError('GROK_ERR_CONFIG_VALUE', `[pull] partial_filter: ${filterWhy}`, { key: 'partial_filter' });
  const forkgroups = forkgroupContext(config, toplevel, local);
  return {
    ...(warned ? { warned } : {}),
    git,
    toplevel,
    site: config.remote.site,
    remotename: config.pull.remotename,
    ffonly: config.pull.ffonly,
    retries: config.pull.retries,
    archiveRepack: config.pull.archive_repack,
    partial: config.pull.partial,
    partialFilter: config.pull.partial_filter,
    transfer: transferSettings(config.remote),
    sleep,
    listedSymlinks: listedSymlinks(local),
    ...forkgroups,
    roots: ownRoots(toplevel, forkgroups.objstoreDir),
  };
}
