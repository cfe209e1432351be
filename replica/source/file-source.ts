/** file:///path manifests (NFS setups): unchanged when the mtime is what we saw last time. */
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { GrokError } from '../../shared/errors.js';
import { gzipManifestBody } from '../../shared/manifest/sliced-read.js';
import { isGzipName } from '../../shared/manifest/io.js';
import type { SourceRequest, SourceResult } from './types.js';

export async function fetchFileManifest(url: string, req: SourceRequest): Promise<SourceResult> {
  const file = fileURLToPath(url);
  const st = await stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new GrokError('GROK_ERR_MANIFEST_FETCH', `${file}: cannot read the manifest (${err.code})`, { file });
  });
  const mtime = String(st.mtimeMs);
  if (!req.force && req.previous.lastModified === mtime) return { status: 'unchanged' };
  if (st.size > req.maxBytes) throw new GrokError('GROK_ERR_MANIFEST_TOO_LARGE', `${file}: larger than ${req.maxBytes} bytes`, { file });
  const raw = await readFile(file);
  return { status: 'fetched', json: isGzipName(file) ? gzipManifestBody(raw, req.maxBytes, file) : raw, validators: { lastModified: mtime }, downloaded: raw.length };
}
