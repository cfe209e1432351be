/**
 * Gunzip with a hard cap on the inflated size, so a gzip bomb fails cleanly instead of exhausting
 * memory. zlib-sync is fed 16 KiB of compressed input at a time: deflate's best ratio is about
 * 1032:1, so one step can overshoot the cap by at most ~16 MiB before we notice and stop.
 */
import ZlibSync from 'zlib-sync';
import { GrokError } from '../errors.js';

const INPUT_STEP = 16 * 1024;
const OUTPUT_CHUNK = 1024 * 1024;

export function gunzipCapped(data: Uint8Array, maxBytes: number, source: string): Buffer {
  const inflate = new ZlibSync.Inflate({ windowBits: 16 + 15, chunkSize: OUTPUT_CHUNK });
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < 18 || buf[0] !== 0x1f || buf[1] !== 0x8b) {
    throw new GrokError('GROK_ERR_MANIFEST_GZIP', `${source}: not gzip data (bad magic bytes)`, { source });
  }
  // The trailer's ISIZE (size mod 2^32) sizes the output buffer: one copy instead of a list of
  // chunks and a concat. It is only a hint (anyone can write it), so it is capped and checked.
  const hint = Math.min(buf.readUInt32LE(buf.length - 4), maxBytes);
  let out = Buffer.allocUnsafe(hint);
  let total = 0;
  for (let off = 0; off < buf.length; off += INPUT_STEP) {
    const last = off + INPUT_STEP >= buf.length;
    inflate.push(buf.subarray(off, off + INPUT_STEP), last ? ZlibSync.Z_FINISH : ZlibSync.Z_SYNC_FLUSH);
    if (inflate.err < 0) {
      const what = inflate.err === ZlibSync.Z_BUF_ERROR ? 'truncated gzip data' : `corrupt gzip data (${inflate.msg ?? inflate.err})`;
      throw new GrokError('GROK_ERR_MANIFEST_GZIP', `${source}: ${what}`, { source, zlibError: inflate.err });
    }
    const chunk = inflate.result as Buffer | null;
    if (chunk && chunk.length > 0) {
      if (total + chunk.length > maxBytes) {
        throw new GrokError('GROK_ERR_MANIFEST_TOO_LARGE', `${source}: inflates to more than ${maxBytes} bytes (the manifest size cap); refusing it`, {
          source,
          maxBytes,
        });
      }
      if (total + chunk.length > out.length) {
        const grown = Buffer.allocUnsafe(Math.min(maxBytes, Math.max(out.length * 2, total + chunk.length)));
        out.copy(grown, 0, 0, total);
        out = grown;
      }
      chunk.copy(out, total);
      total += chunk.length;
    }
  }
  if (inflate.err !== ZlibSync.Z_STREAM_END) {
    throw new GrokError('GROK_ERR_MANIFEST_GZIP', `${source}: truncated gzip data (no end of stream)`, { source });
  }
  return out.subarray(0, total);
}
