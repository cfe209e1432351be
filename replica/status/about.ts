/** Who a replica is, for its status page and /healthz: fixed for the daemon's life. */
import { hostname } from 'node:os';
import path from 'node:path';
import type { GrokConfig } from '../../shared/config/config.js';
import { safeText } from '../../shared/safe-text.js';
import { packageVersion } from '../../shared/version.js';

/** Who this replica is, for the page's header: fixed for the daemon's life. */
export interface About {
  /** The manifest's URL (the site's when a manifest_command reads it), URL credentials redacted. */
  readonly origin: string;
  /** The config's name (kernel for /etc/grokmirror/kernel.conf: the unit's %i) and its path. */
  readonly instance: string;
  readonly config: string;
  readonly host: string;
  readonly version: string;
  readonly pid: number;
}

export function aboutReplica(config: GrokConfig): About {
  // A manifest_command's arguments are not shown: they may hold a token outside any URL.
  const r = config.remote;
  return {
    origin: safeText(r.manifest_command ? `${r.site} (manifest from [remote] manifest_command)` : r.manifest || r.site),
    instance: path.basename(config.file, path.extname(config.file)),
    config: config.file,
    host: hostname(),
    version: packageVersion(),
    pid: process.pid,
  };
}
