/**
 * Manifest checks while grok-pull -o holds its passes back (grok-fsck from fsck_cron works on the
 * repositories): the same conditional fetch a pass starts with, acted on by nobody. They keep
 * /healthz, lag and the origin's contact true during an fsck that takes hours: an unchanged manifest
 * (a 304) confirms the replica is behind by nothing new; a changed one is a change known from then,
 * applied by the pass that follows the fsck. Nothing is written: the pass reads the manifest again
 * against the recorded state. The validators of a manifest seen changed are kept in memory, so the
 * checks after it are conditional again and a big manifest is downloaded once, not at every check.
 */
import type { GrokConfig } from '../shared/config/config.js';
import { describeError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { ManifestChecked } from './events.js';
import type { HttpSourceDeps } from './source/http-source.js';
import { fetchRemoteManifest, readRemoteState, remoteStateAfter, remoteStatePath, type RemoteState } from './source/remote-manifest.js';

export interface ManifestWatchDeps {
  readonly log: Logger;
  readonly now: () => number;
  readonly http?: HttpSourceDeps;
  readonly onChecked: (check: ManifestChecked) => void;
}

/** A checker for one stretch of held-back passes: the first check starts from the recorded state. */
export function manifestWatch(config: GrokConfig, deps: ManifestWatchDeps): () => Promise<void> {
  let seen: RemoteState | null = null;
  return async () => {
    const state = seen ?? readRemoteState(remoteStatePath(config.core.manifest));
    try {
      const res = await fetchRemoteManifest(
        config.remote,
        { state, force: false, configLastModified: config.lastModified, maxBytes: config.core.manifest_max_size },
        { log: deps.log, ...(deps.http ? { http: deps.http } : {}) },
      );
      if (res.status === 'fetched') seen = remoteStateAfter(res.source, res.validators, config.lastModified, deps.now());
      deps.onChecked(res.status === 'fetched' ? { status: 'fetched', bytes: res.downloaded } : { status: 'unchanged' });
      if (res.status === 'fetched') deps.log.info('remote manifest changed; the pass waits for grok-fsck');
    } catch (err) {
      deps.log.warn(`manifest check during grok-fsck failed: ${describeError(err)}`);
      deps.onChecked({ status: 'failed', error: describeError(err) });
    }
  };
}
