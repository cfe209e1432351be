/**
 * A static file as an HTTP answer: streamed from an open descriptor (a bundle renamed over meanwhile
 * keeps being served whole, from the file that was opened), Last-Modified and a weak ETag with 304
 * answers (origin/server/routes/manifest.ts notModified), and one byte range per request (Android's
 * repo tool resumes an interrupted clone.bundle download with Range; a multi-range request gets the
 * whole file, which RFC 9110 allows). If-Range that does not match means the file changed since the
 * client's partial copy: the whole new file, never a piece of it.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { notModified } from './routes/manifest.js';

export type ByteRange = { readonly start: number; readonly end: number } | 'unsatisfiable' | null;

/** The single range a Range header asks of a file of `size` bytes; null: serve it all. */
export function parseRange(header: string | undefined, size: number): ByteRange {
  if (header === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return null; // syntactically invalid: ignored (RFC 9110 14.2)
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/**
 * Answers with the regular file at `file` (already vetted by the caller): 'sent', or 'missing' when
 * there is no such file and nothing was sent. (Not the reply itself: a FastifyReply is a thenable.)
 */
export async function sendFile(req: FastifyRequest, reply: FastifyReply, file: string, type: string): Promise<'sent' | 'missing'> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch {
    return 'missing';
  }
  let handedOver = false;
  try {
    const st = await fh.stat();
    if (!st.isFile()) return 'missing';
    const lastModifiedSec = Math.floor(st.mtimeMs / 1000);
    const etag = `W/"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}-${st.ino.toString(16)}"`;
    reply.header('last-modified', new Date(lastModifiedSec * 1000).toUTCString());
    reply.header('etag', etag);
    reply.header('accept-ranges', 'bytes');
    reply.header('cache-control', 'no-cache');
    if (notModified(req.headers, { etag, lastModifiedSec })) {
      reply.code(304).send();
      return 'sent';
    }
    let range = parseRange(typeof req.headers.range === 'string' ? req.headers.range : undefined, st.size);
    const ifRange = req.headers['if-range'];
    if (range !== null && typeof ifRange === 'string' && ifRange.trim() !== etag && Date.parse(ifRange) !== lastModifiedSec * 1000) range = null;
    if (range === 'unsatisfiable') {
      reply.code(416).header('content-range', `bytes */${st.size}`).type('text/plain').send('Range not satisfiable\n');
      return 'sent';
    }
    reply.type(type);
    const { start, end } = range ?? { start: 0, end: st.size - 1 };
    if (range) reply.code(206).header('content-range', `bytes ${start}-${end}/${st.size}`);
    reply.header('content-length', end - start + 1);
    if (st.size === 0) {
      reply.send('');
      return 'sent';
    }
    // The stream closes the descriptor when it ends or the client goes away (or, for HEAD, when
    // fastify discards it).
    const stream = fh.createReadStream({ start, end, autoClose: true });
    handedOver = true;
    reply.send(stream);
    return 'sent';
  } finally {
    if (!handedOver) await fh.close();
  }
}
