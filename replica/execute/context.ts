/** What a pass and a targeted update share: the planner's options and the work context, from config. */
import type { GrokConfig } from '../../shared/config/config.js';
import type { Git } from '../../shared/git/index.js';
import type { Manifest } from '../../shared/manifest/entry.js';
import type { PullOptions } from '../plan.js';
import { forkgroupContext } from './forkgroups.js';
import type { WorkContext } from './repo-work.js';

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

export function workContext(config: GrokConfig, git: Git, toplevel: string, local: Manifest, sleep: (ms: number) => Promise<void>, warned?: Set<string>): WorkContext {
  return {
    ...(warned ? { warned } : {}),
    git,
    toplevel,
    site: config.remote.site,
    remotename: config.pull.remotename,
    defaultOwner: config.pull.default_owner,
    ffonly: config.pull.ffonly,
    retries: config.pull.retries,
    sleep,
    ...forkgroupContext(config, toplevel, local),
  };
}
