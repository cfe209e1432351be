/**
 * POST /_grok/notify: hooks tell the server which repositories changed. Body: JSON
 * `{"paths": [...], "use_now": bool, "ignore_refs": [...]}` or plain text, one path per line; a path
 * is a repository's absolute path under the toplevel or its manifest key. Only loopback callers or
 * holders of a secret (the run's token, or [origin] notify_secret) may notify; with notify_secret
 * set, everyone needs a secret (a reverse proxy on the same host would otherwise make all callers local).
 * The reply comes once the manifest write carrying the change is on disk.
 */
import { timingSafeEqual } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { describeError, GrokError } from '../../../shared/errors.js';
import { keyProblem, isUnder, keyToPath } from '../../../shared/manifest/keys.js';
import { isIgnored } from '../../../shared/repo/discover.js';
import type { Target } from '../../manifest/plan.js';
import { resolveGivenPath } from '../../manifest/resolve-paths.js';
import { isLoopback } from '../client-address.js';
import type { ManifestStore } from '../manifest-store.js';
import type { NotifyQueue } from '../notify-queue.js';

export interface NotifyDeps {
  readonly toplevel: string;
  readonly secrets: readonly string[];
  readonly requireSecret: boolean;
  readonly maxBytes: number;
  readonly checkExportOk: boolean;
  readonly ignorePaths: readonly string[];
  readonly queue: NotifyQueue;
  readonly store: ManifestStore;
  /** Told how long each notice answered 200 took, from its arrival to its manifest write on disk. */
  readonly observeSeconds?: (seconds: number) => void;
}

interface Notice {
  paths: string[];
  useNow: boolean;
  ignoreRefs: string[];
}

const MAX_PATHS = 10_000;
/** Rejected paths logged one by one; the rest are counted in one line. */
const MAX_REJECT_LINES = 20;

function secretMatches(given: string, secrets: readonly string[]): boolean {
  const g = Buffer.from(given);
  return secrets.some((s) => s !== '' && s.length === given.length && timingSafeEqual(Buffer.from(s), g));
}

export function parseNotice(body: unknown): Notice | string {
  if (typeof body === 'string') {
    const paths = body.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    return { paths, useNow: false, ignoreRefs: [] };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body must be a JSON object or text lines';
  const b = body as Record<string, unknown>;
  if (!Array.isArray(b.paths) || !b.paths.every((p) => typeof p === 'string')) return '"paths" must be a list of strings';
  if (b.use_now !== undefined && typeof b.use_now !== 'boolean') return '"use_now" must be true or false';
  if (b.ignore_refs !== undefined && (!Array.isArray(b.ignore_refs) || !b.ignore_refs.every((p) => typeof p === 'string'))) {
    return '"ignore_refs" must be a list of strings';
  }
  return { paths: b.paths as string[], useNow: b.use_now === true, ignoreRefs: (b.ignore_refs as string[] | undefined) ?? [] };
}

/**
 * The absolute path a notice names: as given when it lies under the toplevel; else a manifest key
 * when one names a repository; else the path with its directories resolved (a hook run through a
 * symlinked toplevel passes the symlinked path). Anything else lies outside the toplevel.
 */
async function absoluteOf(p: string, deps: NotifyDeps): Promise<string> {
  const under = (x: string) => isUnder(deps.toplevel, x) && x !== deps.toplevel;
  if (p.startsWith('/') && under(p)) return p;
  const why = keyProblem(p);
  if (why === null) {
    const asKey = keyToPath(deps.toplevel, p);
    if (await fsp.lstat(asKey).then(() => true, () => false)) return asKey;
  }
  if (p.startsWith('/')) {
    const dir = await fsp.realpath(path.dirname(p)).catch(() => null);
    const phys = dir === null ? null : path.join(dir, path.basename(p));
    if (phys !== null && under(phys)) return phys;
    throw new GrokError('GROK_ERR_OUTSIDE_TOPLEVEL', `outside the toplevel ${deps.toplevel}${why === null ? ', and no repository has that manifest key' : ''}`, { path: p });
  }
  throw new GrokError('GROK_ERR_NOT_A_REPO', `neither a path under the toplevel nor a valid manifest key (it ${why})`, { path: p });
}

async function resolveNotice(p: string, deps: NotifyDeps): Promise<Target> {
  const g = await resolveGivenPath(deps.toplevel, await absoluteOf(p, deps));
  return g.kind === 'repo' ? g : g.target;
}

/**
 * One spelling per path. A path under the toplevel is resolved textually anyway (".." included), so
 * it is normalised whole; elsewhere only doubled and trailing slashes and "." segments are folded
 * ("..", which decides whether a key is valid, is kept).
 */
function spelling(p: string, toplevel: string): string {
  if (!p.startsWith('/')) return p;
  if (isUnder(toplevel, p)) return path.posix.normalize(p).replace(/(.)\/+$/, '$1');
  return `/${p.split('/').filter((s) => s !== '' && s !== '.').join('/')}`;
}

/**
 * The notice's paths, each spelling once, then each resolved once; targets naming the same repository
 * are kept once (with the first spelling that named it). A notice of 10,000 copies of one path costs
 * one inspection, and its answer names that repository once.
 */
async function resolveAll(paths: readonly string[], deps: NotifyDeps): Promise<{ targets: { target: Target; given: string }[]; rejected: { path: string; error: string }[] }> {
  const spellings = new Set<string>();
  const rejected: { path: string; error: string }[] = [];
  for (const p of paths) {
    if (p.length > 4096 || /[\0\n\r]/.test(p)) rejected.push({ path: p.slice(0, 200), error: 'not a usable path' });
    else spellings.add(spelling(p, deps.toplevel));
  }
  const byKey = new Map<string, { target: Target; given: string }>();
  for (const p of spellings) {
    try {
      const target = await resolveNotice(p, deps);
      if (!byKey.has(target.key)) byKey.set(target.key, { target, given: p });
    } catch (err) {
      rejected.push({ path: p, error: describeError(err) });
    }
  }
  const seen = new Set<string>();
  return { targets: [...byKey.values()], rejected: rejected.filter((r) => !seen.has(r.path) && seen.add(r.path)) };
}

export function notifyRoutes(app: FastifyInstance, deps: NotifyDeps): void {
  const authorised = (req: FastifyRequest): boolean => {
    const auth = req.headers.authorization;
    const token = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7).trim() : '';
    if (token !== '' && secretMatches(token, deps.secrets)) return true;
    return !deps.requireSecret && isLoopback(req.socket.remoteAddress);
  };
  app.post('/_grok/notify', { bodyLimit: deps.maxBytes }, async (req, reply) => {
    const arrived = performance.now();
    if (!authorised(req)) {
      req.log.warn({ from: req.socket.remoteAddress }, 'notify refused: not local and no valid secret');
      return reply.code(403).send({ error: 'notify needs a loopback caller or a valid secret' });
    }
    const refuse = (status: number, error: string) => {
      req.log.warn({ from: req.socket.remoteAddress }, `notify refused (${status}): ${error}`);
      return reply.code(status).send({ error });
    };
    const notice = parseNotice(req.body);
    if (typeof notice === 'string') return refuse(400, notice);
    if (notice.paths.length === 0) return refuse(400, 'no paths given');
    if (notice.paths.length > MAX_PATHS) return refuse(413, `more than ${MAX_PATHS} paths in one notice`);
    const resolved = await resolveAll(notice.paths, deps);
    const rejected = resolved.rejected;
    const targets: Target[] = [];
    const removals: string[] = [];
    for (const { target: t, given } of resolved.targets) {
      if (isIgnored(t.path, t.key, deps.ignorePaths)) rejected.push({ path: given, error: 'matches an ignore glob' });
      else if (deps.checkExportOk && !t.exportOk) removals.push(t.key);
      else targets.push(t);
    }
    for (const r of rejected.slice(0, MAX_REJECT_LINES)) req.log.warn({ path: r.path }, `notify: ${r.path}: ${r.error}`);
    if (rejected.length > MAX_REJECT_LINES) req.log.warn(`notify: ${rejected.length - MAX_REJECT_LINES} more paths rejected`);
    if (targets.length === 0 && removals.length === 0) {
      req.log.warn(`notify refused (404): no repository among ${notice.paths.length} path(s)`);
      return reply.code(404).send({ error: 'no repository among the paths', rejected });
    }
    // During a deferred build of the manifest (origin.ts), a notice waits for it here and in the queue.
    await deps.store.whenBuilt();
    const present = removals.filter((k) => deps.store.get(k));
    await deps.store.apply(present.map((key) => ({ key, entry: null })));
    const res = await deps.queue.submit(targets, { useNow: notice.useNow, ignoreRefs: notice.ignoreRefs });
    deps.observeSeconds?.((performance.now() - arrived) / 1000);
    return reply.code(200).send({ ...res, removed: [...res.removed, ...present], rejected });
  });
}
