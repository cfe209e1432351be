/**
 * Gunzip with a hard cap on the inflated size, so a gzip bomb fails cleanly instead of exhausting
 * memory. Multi-member gzip files (RFC 1952 allows several members back to back; grok-origin writes
 * one per slice of the manifest so a push recompresses one slice) are read whole.
 *
 * node:zlib rather than zlib-sync: zlib-sync does not expose how much input a member consumed, so it
 * cannot find where the next member starts and silently stops after the first; node:zlib reads every
 * member, and its maxOutputLength caps the output exactly. Measured on a 100k-entry manifest (22 MB
 * inflated): zlib-sync 28-43 ms, node:zlib 33-49 ms (BENCHMARKS.md history).
 */
import { gunzipSync } from 'node:zlib';
import { GrokError } from '../errors.js';

/** A gzip member's trailer gives its size; believed only up to this ratio (manifests inflate ~6:1). */
const MAX_HINTED_RATIO = 32;

/**
 * Output chunk size: the size the (last) member's trailer gives, when plausible, so that a file of
 * one member inflates into one buffer (joining 1 MiB chunks of a 25 MB manifest cost 200-400 ms);
 * otherwise 1 MiB chunks, fewer steps and copies than the default 16 KiB.
 */
function outputChunk(data: Uint8Array, maxBytes: number): number {
  const isize = Buffer.from(data.buffer, data.byteOffset, data.byteLength).readUInt32LE(data.length - 4);
  return isize > 1024 * 1024 && isize < maxBytes && isize <= MAX_HINTED_RATIO * data.length ? isize + 1 : 1024 * 1024;
}

/** Refuses bytes that cannot be a gzip file at all. */
export function gzipMagic(data: Uint8Array, source: string): void {
  if (data.length < 18 || data[0] !== 0x1f || data[1] !== 0x8b) {
    throw new GrokError('GROK_ERR_MANIFEST_GZIP', `${source}: not gzip data (bad magic bytes)`, { source });
  }
}

export function gunzipCapped(data: Uint8Array, maxBytes: number, source: string): Buffer {
  gzipMagic(data, source);
  try {
    return gunzipSync(data, { maxOutputLength: maxBytes, chunkSize: outputChunk(data, maxBytes) });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new GrokError('GROK_ERR_MANIFEST_TOO_LARGE', `${source}: inflates to more than ${maxBytes} bytes (the manifest size cap); refusing it`, {
        source,
        maxBytes,
      });
    }
    const what = code === 'Z_BUF_ERROR' ? 'truncated gzip data' : `corrupt gzip data (${(err as Error).message})`;
    throw new GrokError('GROK_ERR_MANIFEST_GZIP', `${source}: ${what}`, { source, zlibError: code });
  }
}
