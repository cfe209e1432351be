/** grok-origin's command line and the hand-written parts of its manual page. */
import type { Command } from 'commander';
import { newCommand, type Manual } from '../../shared/cli.js';

export interface OriginFlags {
  config: string;
  listen?: string;
  verbose?: boolean;
  asOtherUser?: boolean;
  checkConfig?: boolean;
}

export function originCommand(): Command {
  return newCommand('grok-origin', 'Serve an origin: the manifest, the repositories over git smart HTTP (read-only), push notices and a change feed.')
    .requiredOption('-c, --config <file>', 'grokmirror.conf ([core], [manifest] and [origin] sections)')
    .option('--listen <address>', 'HOST:PORT, [IPv6]:PORT or a unix socket path (overrides [origin] listen)')
    .option('-v, --verbose', 'log requests and changes to stderr')
    .option('--as-other-user', "run as root on a toplevel another user owns (what root makes there stays root's)")
    .option('--check-config', 'check the config, print every key as this command uses it (defaults filled in, ${...} resolved, URL credentials hidden) and exit: 0 valid, 1 not');
}

export const originManual: Manual = {
  description: [
    'grok-origin is the whole origin in one process: it serves the manifest ([core] manifest) at /<name>.gz and /<name> with ETag, Last-Modified and 304s; every repository in the manifest (and its symlinks) over git smart HTTP, read-only (upload-pack, protocol v0 to v2); a change feed at /_grok/events (Server-Sent Events) and /_grok/changes; grok-bundle and preload bundles; /healthz and /metrics.',
    'Pushes reach it through the usual hook, grok-manifest -n -m M -t T $GIT_DIR, which hands the path to the running server (found through .<manifest>.origin beside the manifest) instead of rewriting the file; the server recomputes that entry, coalesces concurrent pushes and publishes the change. Other writers of the manifest (a cron walk, grok-fsck) are noticed and their changes published. grokmirror replicas need nothing else: [remote] site = http://HOST:PORT and manifest = ${site}/manifest.js.gz.',
    'Each request is logged when its response is over: method, path, status, bytes, milliseconds and client, at info for git and manifest requests and at debug for the rest; query strings and headers are never logged. Only loopback callers or holders of [origin] notify_secret may post notices.',
  ],
  exitStatus: ['0 after a clean stop (SIGTERM or SIGINT: running clones finish for up to [origin] shutdown_timeout seconds); 1 when it cannot start; 2 for usage errors.'],
  files: [
    ['/etc/grokmirror/<instance>.conf', 'the configuration: [core] toplevel and manifest, [origin]'],
    ['<manifest dir>/.<manifest>.origin', "the server's address and per-run token for hooks (mode 0600), removed on stop"],
  ],
  examples: [
    ['Serve an origin on the default 127.0.0.1:8080', 'grok-origin -c /etc/grokmirror/origin.conf'],
    ['Serve a replica to the next tier', 'grok-origin -c /etc/grokmirror/mirror.conf --listen 0.0.0.0:8080'],
  ],
  seeAlso: ['grok-manifest(1)', 'grok-pull(1)', 'grok-fsck(1)', 'grok-bundle(1)', 'git-http-backend(1)'],
};
