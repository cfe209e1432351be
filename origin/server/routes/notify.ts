/**
 * POST /_grok/notify: hooks tell the server which repositories changed. Body: JSON
 * `{"paths": [...], "use_now": bool, "ignore_refs": [...]}` or plain text, one path per line; a path
 * is a repository's absolute path under the toplevel or its manifest key. Only loopback callers or
 * holders of a secret (the run's token, or [origin] notify_secret) may notify; with notify_secret
 * set, everyone needs a secret (a reverse proxy on the same host would otherwise make all callers local).
 * The reply comes once the manifest write carrying the change is on disk.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { describeError } from '../../../shared/errors.js';
import { keyProblem, isUnder, keyToPath } from '../../../shared/manifest/keys.js';
import { isIgnored } from '../../../shared/repo/discover.js';
import type { Target } from '../../manifest/plan.js';
import { resolveGivenPath } from '../../manifest/resolve-paths.js';
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
}

interface Notice {
  paths: string[];
  useNow: boolean;
  ignoreRefs: string[];
}

const MAX_PATHS = 10_000;

function isLoopback(addr: string | undefined): boolean {
  return !!addr && (addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.'));
}

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

async function resolveNotice(p: string, deps: NotifyDeps): Promise<Target> {
  if (p.length > 4096 || /[\0\n\r]/.test(p)) throw new Error('not a usable path');
  const abs = isUnder(deps.toplevel, p) && p.startsWith('/') && p !== deps.toplevel ? p : null;
  if (!abs) {
    const why = keyProblem(p);
    if (why) throw new Error(`neither a path under the toplevel nor a valid manifest key (it ${why})`);
  }
  const g = await resolveGivenPath(deps.toplevel, abs ?? keyToPath(deps.toplevel, p));
  return g.kind === 'repo' ? g : g.target;
}

export function notifyRoutes(app: FastifyInstance, deps: NotifyDeps): void {
  const authorised = (req: FastifyRequest): boolean => {
    const auth = req.headers.authorization;
    const token = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7).trim() : '';
    if (token !== '' && secretMatches(token, deps.secrets)) return true;
    return !deps.requireSecret && isLoopback(req.socket.remoteAddress);
  };
  app.post('/_grok/notify', { bodyLimit: deps.maxBytes }, async (req, reply) => {
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
    const targets: Target[] = [];
    const rejected: { path: string; error: string }[] = [];
    const removals: string[] = [];
    for (const p of notice.paths) {
      try {
        const t = await resolveNotice(p, deps);
        if (isIgnored(t.path, t.key, deps.ignorePaths)) rejected.push({ path: p, error: 'matches an ignore glob' });
        else if (deps.checkExportOk && !t.exportOk) removals.push(t.key);
        else targets.push(t);
      } catch (err) {
        rejected.push({ path: p, error: describeError(err) });
      }
    }
    for (const r of rejected) req.log.warn({ path: r.path }, `notify: ${r.path}: ${r.error}`);
    if (targets.length === 0 && removals.length === 0) {
      req.log.warn(`notify refused (404): no repository among ${notice.paths.length} path(s)`);
      return reply.code(404).send({ error: 'no repository among the paths', rejected });
    }
    const present = removals.filter((k) => deps.store.get(k));
    await deps.store.apply(present.map((key) => ({ key, entry: null })));
    const res = await deps.queue.submit(targets, { useNow: notice.useNow, ignoreRefs: notice.ignoreRefs });
    return reply.code(200).send({ ...res, removed: [...res.removed, ...present], rejected });
  });
}
