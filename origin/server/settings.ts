/** grok-origin's settings: the slice of grokmirror.conf it needs, plus command-line overrides, frozen. */
import os from 'node:os';
import path from 'node:path';
import type { GrokConfig } from '../../shared/config/config.js';
import { GrokError } from '../../shared/errors.js';

export interface Listen {
  readonly host?: string;
  readonly port?: number;
  readonly socket?: string;
}

export interface OriginSettings {
  readonly toplevel: string;
  readonly manifestFile: string;
  /** URL paths of the manifest: gzip bytes as stored, and plain JSON. */
  readonly gzUrl: string;
  readonly jsonUrl: string;
  readonly listen: Listen;
  readonly notifySecret: string;
  readonly writeDelayMs: number;
  readonly eventsBacklog: number;
  readonly repoWatch: boolean;
  readonly maxUploadPacks: number;
  /** upload-pack slots one client (client-address.ts) may hold at once; its further requests wait. */
  readonly maxUploadPacksPerClient: number;
  /** Requests of one client waiting for a slot; more are refused (429). */
  readonly uploadPackWaitingPerClient: number;
  /** A connection whose client takes no byte of a reply for this long is closed (stall-watch.ts). */
  readonly sendTimeoutMs: number;
  readonly maxFeedClients: number;
  readonly shutdownTimeoutMs: number;
  readonly notifyMaxBytes: number;
  /** Largest request body an upload-pack negotiation may send (after gunzip). */
  readonly uploadPackMaxBytes: number;
  /** Upload-pack request bodies held in memory at once while they wait for a slot, all together. */
  readonly uploadPackBufferedBytes: number;
  /** A client must have sent its whole request (headers and body) within this. */
  readonly requestTimeoutMs: number;
  readonly checkExportOk: boolean;
  readonly pretty: boolean;
  readonly maxManifestBytes: number;
  readonly ignorePaths: readonly string[];
  /** grok-bundle's outdir, served for Android's repo tool; empty: off. */
  readonly bundleDir: string;
  /** Objstore preload bundles, served for replicas' preload_bundle_url; empty: off. */
  readonly preloadBundleDir: string;
}

export function parseListen(text: string): Listen {
  if (text.startsWith('/')) return { socket: text };
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new GrokError('GROK_ERR_CONFIG_VALUE', `listen address ${JSON.stringify(text)} is not HOST:PORT, [IPv6]:PORT or a socket path`, { value: text });
  }
  return { host: m[1] ?? m[2], port };
}

export function originSettings(config: GrokConfig, overrides: { listen?: string } = {}): OriginSettings {
  const base = path.basename(config.core.manifest);
  const plain = base.replace(/\.gz$/, '');
  const maxUploadPacks = config.origin.max_upload_packs || 4 * os.availableParallelism();
  return Object.freeze({
    toplevel: config.core.toplevel,
    manifestFile: config.core.manifest,
    gzUrl: `/${plain}.gz`,
    jsonUrl: `/${plain}`,
    listen: parseListen(overrides.listen ?? config.origin.listen),
    notifySecret: config.origin.notify_secret,
    writeDelayMs: config.origin.write_delay_ms,
    eventsBacklog: config.origin.events_backlog,
    repoWatch: config.origin.repo_watch,
    maxUploadPacks,
    maxUploadPacksPerClient: config.origin.max_upload_packs_per_client || Math.max(1, Math.floor(maxUploadPacks / 2)),
    uploadPackWaitingPerClient: 64,
    sendTimeoutMs: config.origin.send_timeout * 1000,
    maxFeedClients: config.origin.max_feed_clients,
    shutdownTimeoutMs: config.origin.shutdown_timeout * 1000,
    notifyMaxBytes: config.origin.notify_max_size,
    uploadPackMaxBytes: 256 * 1024 * 1024,
    uploadPackBufferedBytes: 1024 * 1024 * 1024,
    // Node's own default (fastify's is none): without it a client that sends its headers and then
    // stalls its body holds the connection for ever.
    requestTimeoutMs: 300_000,
    checkExportOk: config.manifest.check_export_ok,
    pretty: config.manifest.pretty,
    maxManifestBytes: config.core.manifest_max_size,
    ignorePaths: config.manifest.ignore,
    bundleDir: config.origin.bundle_dir === '' ? '' : path.resolve(config.origin.bundle_dir),
    preloadBundleDir: config.origin.preload_bundle_dir === '' ? '' : path.resolve(config.origin.preload_bundle_dir),
  });
}
