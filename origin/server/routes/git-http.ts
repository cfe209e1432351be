/**
 * Git smart HTTP, read-only: `GET <repo>/info/refs?service=git-upload-pack` and
 * `POST <repo>/git-upload-pack`, protocol v0/v1 and v2 (the Git-Protocol header becomes GIT_PROTOCOL),
 * gzip request bodies, streaming both ways, a bounded number of upload-pack processes. Only
 * repositories in the manifest (or symlinks to them) are served; receive-pack and dumb HTTP never.
 * The path on disk always comes from a manifest key, so no URL can name anything else.
 */
import { PassThrough, Writable, finished, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { describeError } from '../../../shared/errors.js';
import { untrusted, type Git } from '../../../shared/git/index.js';
import { keyProblem, keyToPath, pathToKey } from '../../../shared/manifest/keys.js';
import { hasExportOk } from '../../../shared/repo/bare.js';
import { resolveRepoSymlink } from '../../../shared/repo/discover.js';
import { clientAddress } from '../client-address.js';
import { isPromisorRepo } from '../../../shared/repo/promisor.js';
import type { ManifestStore } from '../manifest-store.js';
import type { Semaphore } from '../semaphore.js';
import { CLONE_BUNDLE_SUFFIX } from './bundles.js';
import { pktLine } from '../../../shared/git/pkt-line.js';

export interface GitHttpDeps {
  readonly toplevel: string;
  readonly store: ManifestStore;
  readonly git: Git;
  /** upload-pack slots, shared fairly between client addresses (client-address.ts). */
  readonly uploads: Semaphore;
  readonly checkExportOk: boolean;
  /** Largest request body an upload-pack negotiation may send. */
  readonly maxRequestBytes: number;
  /** Request bodies held in memory at once, all clients together, while they wait for a slot. */
  readonly maxBufferedBytes: number;
  /** Answers `<repo>/clone.bundle` (routes/bundles.ts), given the decoded path before it; null: not served. */
  readonly cloneBundle?: ((req: FastifyRequest, reply: FastifyReply, base: string) => Promise<FastifyReply>) | null;
}

const SUFFIXES = ['/info/refs', '/git-upload-pack', '/git-receive-pack'] as const;

/**
 * Partial clones (grok-pull's [pull] partial) need filters, and their on-demand fetches ask for blobs
 * by id. Over protocol v0 git refuses a want that is no ref tip unless allowed; we allow reachable
 * ones, not "any": with git 2.39 a blob reachable from the repository's refs is then served, and the
 * objects a repository merely borrows through its objstore were already obtainable over protocol v2
 * (which does not check wants at all). Objstores hold only public members' objects (private
 * repositories borrow but never join), so no private object becomes reachable this way.
 * Both the advertisement (which lists the capabilities) and the upload itself need them.
 */
const UPLOAD_PACK_CONFIG = { 'uploadpack.allowFilter': 'true', 'uploadpack.allowReachableSHA1InWant': 'true' } as const;

/** The repository directory a URL path names, or why it names none. */
async function repoFor(deps: GitHttpDeps, key: string): Promise<string | null> {
  if (keyProblem(key) !== null) return null;
  let realKey = key;
  if (!(await deps.store.lookup(key))) {
    // A symlink to a listed repository is served as that repository.
    const res = await resolveRepoSymlink(deps.toplevel, keyToPath(deps.toplevel, key)).catch(() => null);
    if (!res || !('target' in res)) return null;
    realKey = pathToKey(deps.toplevel, res.target);
    if (!(await deps.store.lookup(realKey))) return null;
  }
  const dir = keyToPath(deps.toplevel, realKey);
  if (deps.checkExportOk && !(await hasExportOk(dir))) return null;
  return dir;
}

function protocolOf(req: FastifyRequest): string | undefined {
  const p = req.headers['git-protocol'];
  return typeof p === 'string' && p !== '' ? p : undefined;
}

class BodyTooLarge extends Error {}
class BodyBudgetSpent extends Error {}

export function gitHttpRoutes(app: FastifyInstance, deps: GitHttpDeps): void {
  app.addContentTypeParser('application/x-git-upload-pack-request', (_req, payload, done) => done(null, payload));
  // Parsed only so that a push attempt gets a clear 403 instead of "unsupported media type".
  app.addContentTypeParser('application/x-git-receive-pack-request', (_req, payload, done) => {
    payload.resume();
    done(null, null);
  });

  const notFound = (reply: FastifyReply) => reply.code(404).type('text/plain').send('Not found\n');

  app.route({
    method: ['GET', 'POST'],
    url: '/*',
    handler: async (req, reply) => {
      const urlPath = req.url.split('?')[0] ?? '';
      // Every %XX is decoded, as httpd does before git-http-backend sees the path, except an encoded
      // "/" or NUL, which httpd answers with 404 (AllowEncodedSlashes off): a path names a key as typed.
      if (/%(?:2f|00)/i.test(urlPath)) return notFound(reply);
      let decoded: string;
      try {
        decoded = decodeURIComponent(urlPath);
      } catch {
        return reply.code(400).type('text/plain').send('Bad URL encoding\n');
      }
      // Android's repo tool asks for `<remote url>/clone.bundle` before it fetches.
      if (decoded.endsWith(CLONE_BUNDLE_SUFFIX) && req.method !== 'POST') {
        return deps.cloneBundle && !/[\0\\]/.test(decoded) ? deps.cloneBundle(req, reply, decoded.slice(0, -CLONE_BUNDLE_SUFFIX.length)) : notFound(reply);
      }
      const suffix = SUFFIXES.find((s) => decoded.endsWith(s));
      if (!suffix) return notFound(reply);
      if (suffix === '/git-receive-pack' || (req.query as Record<string, unknown>).service === 'git-receive-pack') {
        return reply.code(403).type('text/plain').send('This server is read-only\n');
      }
      const dir = await repoFor(deps, decoded.slice(0, -suffix.length));
      if (!dir) return notFound(reply);
      if (suffix === '/info/refs') {
        if (req.method !== 'GET') return reply.code(405).send();
        if ((req.query as Record<string, unknown>).service !== 'git-upload-pack') {
          return reply.code(403).type('text/plain').send('Dumb HTTP is not served; use a git client with smart HTTP\n');
        }
        return advertise(req, reply, dir);
      }
      if (req.method !== 'POST') return reply.code(405).send();
      if (req.headers['content-type'] !== 'application/x-git-upload-pack-request') {
        return reply.code(415).type('text/plain').send('Expected application/x-git-upload-pack-request\n');
      }
      return uploadPack(req, reply, dir);
    },
  });

  /**
   * An upload-pack slot for this request's client, or null when the request was answered instead
   * (429: the client has too many waiting already) or its client went away while it waited.
   */
  async function slotFor(req: FastifyRequest, reply: FastifyReply, dir: string): Promise<(() => void) | null> {
    const client = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for']);
    const gone = new AbortController();
    reply.raw.once('close', () => gone.abort());
    const got = await deps.uploads.enter(client, gone.signal);
    if ('release' in got) return got.release;
    if (got.refused === 'aborted') {
      req.log.info({ repo: dir, from: client, action: 'upload-pack' }, `${req.method} ${req.url.slice(0, 200)} from ${client}: the client went away while waiting for a slot`);
      return null;
    }
    const waiting = deps.uploads.maxWaitingPerKey;
    req.log.warn({ repo: dir, from: client, action: 'client-limit' }, `${req.method} ${req.url.slice(0, 200)} from ${client} refused (429): ${deps.uploads.heldBy(client)} running and ${waiting} waiting already`);
    void reply.code(429).header('retry-after', '10').type('text/plain').send(`Too many requests from ${client} at once: ${waiting} are waiting already\n`);
    return null;
  }

  async function advertise(req: FastifyRequest, reply: FastifyReply, dir: string) {
    const protocol = protocolOf(req);
    const release = await slotFor(req, reply, dir);
    if (!release) return reply;
    let proc;
    try {
      proc = deps.git.pipe({ args: ['upload-pack', '--stateless-rpc', '--advertise-refs', untrusted(dir)], config: UPLOAD_PACK_CONFIG, ...(protocol ? { protocol } : {}) });
    } catch (err) {
      release();
      return reply.code(400).type('text/plain').send(`${describeError(err)}\n`);
    }
    proc.stdin.end();
    void proc.done.finally(release);
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) proc.kill();
    });
    const out = new PassThrough();
    if (!protocol?.split(':').includes('version=2')) out.write(pktLine('# service=git-upload-pack\n') + '0000');
    pipeline(proc.stdout, out, () => {});
    reply.header('cache-control', 'no-cache').type('application/x-git-upload-pack-advertisement');
    return reply.send(out);
  }

  // Bytes of request bodies held in memory now (readBody), against deps.maxBufferedBytes.
  let buffered = 0;

  /**
   * The whole request body, gunzipped and bounded, read before an upload-pack slot is taken: a
   * client that sends its headers and then its body slowly (or never) holds a connection, not a
   * slot. Node's requestTimeout bounds how long that may take. The request stream itself is never
   * destroyed here (the reply still needs its socket): on a refusal it is only unpiped.
   */
  function readBody(req: FastifyRequest): Promise<Buffer> {
    const src = req.body as NodeJS.ReadableStream & { unpipe(dst?: NodeJS.WritableStream): void };
    const chunks: Buffer[] = [];
    let mine = 0;
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (mine + chunk.length > deps.maxRequestBytes) return cb(new BodyTooLarge(`Request body larger than ${deps.maxRequestBytes} bytes`));
        if (buffered + chunk.length > deps.maxBufferedBytes) return cb(new BodyBudgetSpent('too many request bodies waiting for a slot'));
        buffered += chunk.length;
        mine += chunk.length;
        chunks.push(chunk);
        cb();
      },
    });
    const first: NodeJS.WritableStream = req.headers['content-encoding'] === 'gzip' ? createGunzip() : sink;
    return new Promise<Buffer>((resolve, reject) => {
      let settled = false;
      const settle = (err: Error | null | undefined) => {
        if (settled) return;
        settled = true;
        // A body that was read stays counted until the caller has handed it on (uploadPack).
        if (!err) return resolve(Buffer.concat(chunks));
        buffered -= mine;
        src.unpipe(first);
        reject(err);
      };
      if (first !== sink) pipeline(first as NodeJS.ReadWriteStream, sink, settle);
      else finished(sink, settle);
      finished(src, (err) => err && settle(err));
      src.pipe(first);
    });
  }

  async function uploadPack(req: FastifyRequest, reply: FastifyReply, dir: string) {
    const protocol = protocolOf(req);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > deps.maxRequestBytes) {
      req.log.warn({ repo: dir }, `upload-pack request of ${declared} bytes refused (over ${deps.maxRequestBytes})`);
      return reply.code(413).type('text/plain').send(`Request body larger than ${deps.maxRequestBytes} bytes\n`);
    }
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (req.socket.destroyed || e.code === 'ERR_STREAM_PREMATURE_CLOSE' || e.code === 'ECONNRESET' || e.code === 'ECONNABORTED') {
        req.log.warn({ repo: dir, action: 'upload-pack' }, `upload-pack request from ${req.socket.remoteAddress}: the client went away before sending its whole request`);
        return reply;
      }
      req.log.warn({ repo: dir, action: 'upload-pack' }, `upload-pack request from ${req.socket.remoteAddress}: ${e.message}`);
      if (e instanceof BodyTooLarge) return reply.code(413).type('text/plain').send(`${e.message}\n`);
      if (e instanceof BodyBudgetSpent) return reply.code(503).header('retry-after', '10').type('text/plain').send('Server busy: too many requests waiting; try again\n');
      return reply.code(400).type('text/plain').send(`bad request body (${e.message})\n`);
    }
    let release: (() => void) | null;
    try {
      release = await slotFor(req, reply, dir);
    } finally {
      buffered -= body.length;
    }
    if (!release) return reply;
    let proc;
    try {
      // A partial clone (a tier's) hands out what it lacks by fetching it from its own upstream.
      const lazyFetch = isPromisorRepo(dir);
      proc = deps.git.pipe({ args: ['upload-pack', '--stateless-rpc', untrusted(dir)], config: UPLOAD_PACK_CONFIG, lazyFetch, ...(protocol ? { protocol } : {}) });
    } catch (err) {
      release();
      return reply.code(400).type('text/plain').send(`${describeError(err)}\n`);
    }
    void proc.done.then(({ exitCode, stderr }) => {
      release();
      if (exitCode !== 0) req.log.warn({ repo: dir, exitCode }, `upload-pack failed: ${stderr.trim().split('\n').pop() ?? ''}`);
    });
    // EPIPE here means upload-pack stopped reading because it refused what it had read; its exit
    // status and message say why (below).
    proc.stdin.on('error', () => {});
    proc.stdin.end(body);
    // A client that goes away stops its upload-pack.
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) proc.kill();
    });
    // The status goes out with upload-pack's first byte. One that ends without writing anything
    // after refusing the request (a malformed pkt-line, an unknown v2 command, a body that is not
    // gzip or over the limit) gets a 4xx saying why, not an empty 200.
    const first = await firstOutput(proc.stdout, proc.done);
    if (first !== 'output' && first.exitCode !== 0) {
      // git's message quotes the request, which may carry control characters: one plain line.
      const said = first.stderr.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, 300);
      return reply.code(400).type('text/plain').send(`${said || `upload-pack exited with ${first.exitCode}`}\n`);
    }
    reply.header('cache-control', 'no-cache').type('application/x-git-upload-pack-result');
    return reply.send(proc.stdout);
  }
}

/**
 * Resolves with 'output' as soon as `out` has a first chunk (put back, so nothing is lost), or with
 * the process's exit when it ended without writing anything.
 */
function firstOutput(out: NodeJS.ReadableStream, done: Promise<{ exitCode: number; stderr: string }>): Promise<'output' | { exitCode: number; stderr: string }> {
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      out.pause();
      out.unshift(chunk);
      resolve('output');
    };
    out.once('data', onData);
    void done.then((exit) => {
      out.removeListener('data', onData);
      resolve(exit);
    });
  });
}
