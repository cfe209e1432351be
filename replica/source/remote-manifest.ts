/**
 * Getting the remote manifest: pick the source ([remote] manifest_command, else [remote] manifest as
 * http(s):// or file://), fetch it conditionally, and check it before anyone acts on it. The state of
 * the last fetch lives in `.<local manifest>.remote` and is recorded only after the work the fetch
 * implied is done (grok-pull's run decides), so a killed pass resumes instead of forgetting work.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RemoteConfig } from '../../shared/config/schema.js';
import { GrokError } from '../../shared/errors.js';
import { atomicWrite } from '../../shared/fs/atomic.js';
import type { Logger } from '../../shared/log.js';
import type { ParsedSubset } from '../../shared/manifest/io.js';
import { readManifestSubset, type ManifestBody } from '../../shared/manifest/sliced-read.js';
import { fetchCommandManifest } from './command-source.js';
import { fetchFileManifest } from './file-source.js';
import { fetchHttpManifest, type HttpSourceDeps } from './http-source.js';
import { transferSettings } from './transfer.js';
import { redactUrls } from '../../shared/safe-text.js';
import type { SourceResult, Validators } from './types.js';

/**
 * grokmirror's three keys in grokmirror's units, so that either tool takes the other's record: `source`,
 * `last-fetched` (the manifest's own modification time, whole seconds: grokmirror's If-Modified-Since
 * and file:// mtime test use it) and `config-last-modified` (the config file's mtime, whole seconds).
 * Ours besides: the validators of the last fetch, which grokmirror ignores.
 */
export interface RemoteState {
  readonly source: string;
  readonly 'last-fetched': number;
  /** Whole seconds; files written before whole seconds were used hold milliseconds, also accepted. */
  readonly 'config-last-modified': number;
  readonly 'last-modified'?: string;
  readonly etag?: string;
}

export function remoteStatePath(localManifest: string): string {
  return path.join(path.dirname(localManifest), `.${path.basename(localManifest)}.remote`);
}

export function readRemoteState(file: string): RemoteState | null {
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as RemoteState;
    return typeof s.source === 'string' ? s : null;
  } catch {
    return null;
  }
}

/** 0600, and the source as it may be shown (`source` below): a manifest URL may carry credentials. */
export async function writeRemoteState(file: string, state: RemoteState): Promise<void> {
  await atomicWrite(file, JSON.stringify({ ...state, source: redactUrls(state.source) }, null, 2), { mode: 0o600 });
}

/** The state to record after a pass: grokmirror's keys in its units, and our validators. */
export function remoteStateAfter(source: string, validators: Validators, configMtimeMs: number, nowMs: number): RemoteState {
  const lm = validators.lastModified;
  // file:// validators are the mtime in ms; http ones the Last-Modified header
  const sourceMs = lm === undefined ? NaN : /^\d+(?:\.\d+)?$/.test(lm) ? Number(lm) : Date.parse(lm);
  return {
    source,
    'last-fetched': Math.floor((Number.isFinite(sourceMs) ? sourceMs : nowMs) / 1000),
    'config-last-modified': Math.floor(configMtimeMs / 1000),
    ...(lm ? { 'last-modified': lm } : {}),
    ...(validators.etag ? { etag: validators.etag } : {}),
  };
}

/** Whether a recorded fetch was made with this config: grokmirror's whole seconds, or our former milliseconds. */
function sameConfig(recorded: number, configMtimeMs: number): boolean {
  return recorded === Math.floor(configMtimeMs / 1000) || recorded === configMtimeMs;
}

/** grokmirror records a file:// source as the bare path. */
function sameSource(recorded: string, source: string): boolean {
  const bare = (s: string) => (s.startsWith('file://') ? s.slice('file://'.length) : s);
  return bare(recorded) === bare(source);
}

export function sourceOf(remote: RemoteConfig): string {
  if (remote.manifest_command) return `command:${remote.manifest_command}`;
  if (remote.manifest) return remote.manifest;
  throw new GrokError('GROK_ERR_CONFIG_MISSING', '[remote] needs manifest (a URL) or manifest_command');
}

export type RemoteManifest =
  | { readonly status: 'unchanged' }
  /**
   * `source`: where it came from, credentials redacted (it is logged and recorded); `json`: the
   * manifest's bytes (inflated, or a sliced file as it is: shared/manifest/sliced-read.ts), read with readRemoteEntries.
   */
  | { readonly status: 'fetched'; readonly json: ManifestBody; readonly validators: Validators; readonly source: string; readonly downloaded: number };

export interface FetchOptions {
  readonly state: RemoteState | null;
  readonly force: boolean;
  readonly configLastModified: number;
  readonly maxBytes: number;
}

function transferDeps(remote: RemoteConfig): HttpSourceDeps {
  const t = transferSettings(remote);
  return { rate: t.rate, timeoutMs: t.manifestTimeoutMs };
}

export async function fetchRemoteManifest(remote: RemoteConfig, opts: FetchOptions, deps: { log: Logger; http?: HttpSourceDeps }): Promise<RemoteManifest> {
  const raw = sourceOf(remote);
  const source = redactUrls(raw);
  // A different source or an edited config means a full re-read (grokmirror does the same).
  const force = opts.force || !opts.state || !sameSource(opts.state.source, source) || !sameConfig(opts.state['config-last-modified'], opts.configLastModified);
  const previous: Validators = {
    ...(opts.state?.['last-modified'] ? { lastModified: opts.state['last-modified'] } : {}),
    ...(opts.state?.etag ? { etag: opts.state.etag } : {}),
  };
  const req = { previous, force, maxBytes: opts.maxBytes };
  let res: SourceResult;
  if (remote.manifest_command) res = await fetchCommandManifest(remote.manifest_command, req, deps.log);
  else if (/^https?:\/\//.test(raw)) res = await fetchHttpManifest(raw, req, { ...transferDeps(remote), log: deps.log, ...deps.http });
  else if (raw.startsWith('file://')) res = await fetchFileManifest(raw, req);
  else throw new GrokError('GROK_ERR_CONFIG_VALUE', `[remote] manifest ${JSON.stringify(source)} is not http(s):// or file://`, { source });
  if (res.status === 'unchanged') return res;
  return { status: 'fetched', json: res.json, validators: res.validators, source, downloaded: res.downloaded };
}

/**
 * The entries of a fetched manifest that `keep` accepts (the ones this replica wants or holds),
 * checked, each refused one logged; the rest are skipped unbuilt (shared/manifest/io.ts).
 */
export async function readRemoteEntries(json: ManifestBody, source: string, keep: (key: string) => boolean, log: Logger): Promise<ParsedSubset> {
  const parsed = await readManifestSubset(json, source, keep);
  for (const r of parsed.rejected) log.error({ repo: r.key, action: 'refuse' }, `${source}: refusing ${JSON.stringify(r.key)}: ${r.why}; whatever this replica holds of it stays as it is`);
  return parsed;
}
