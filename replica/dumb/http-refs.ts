/**
 * Asking a smart-HTTP remote for its refs without starting git: one GET of
 * `<url>/info/refs?service=git-upload-pack` (protocol v0, whose answer is the whole ref
 * advertisement), parsed here. `git ls-remote` over HTTP costs two processes on our side (git and
 * git-remote-http) and, with protocol v2, two requests; this costs one request on a kept-alive
 * connection. Measured on loopback against grok-origin: ~2.5 ms per upstream against ~11 ms for
 * git ls-remote (BENCHMARKS.md).
 *
 * Anything that is not a plain smart-HTTP answer (a redirect, 401/403, 404, a dumb server, an error)
 * is `null`: the caller asks git ls-remote, which knows credential helpers, redirects, proxies and
 * what each failure means. So this only ever makes the common case cheaper; it never decides that
 * a remote is gone or private.
 */
import type { Dispatcher } from 'undici';
import type { Git } from '../../shared/git/index.js';
import { undiciLite } from '../source/undici-lite.js';

/** An advertisement larger than this is left to git (a repository with millions of refs). */
export const MAX_ADVERTISEMENT_BYTES = 64 * 1024 * 1024;

const OID_RE = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/**
 * The pkt-lines of a v0 upload-pack advertisement as ls-remote's map (ref name -> oid, peeled
 * `^{}` entries kept as ls-remote keeps them). Null when the body is not one.
 */
export function parseAdvertisement(body: Buffer): Map<string, string> | null {
  const refs = new Map<string, string>();
  let at = 0;
  let sawService = false;
  let flushes = 0;
  while (at < body.length) {
    if (at + 4 > body.length) return null;
    const len = Number.parseInt(body.toString('latin1', at, at + 4), 16);
    if (!Number.isInteger(len) || (len !== 0 && len < 4) || at + len > body.length) return null;
    if (len === 0) {
      at += 4;
      flushes++;
      continue;
    }
    let line = body.toString('latin1', at + 4, at + len);
    at += len;
    if (line.endsWith('\n')) line = line.slice(0, -1);
    if (!sawService) {
      if (line !== '# service=git-upload-pack') return null;
      sawService = true;
      continue;
    }
    const nul = line.indexOf('\0');
    if (nul >= 0) line = line.slice(0, nul);
    const sp = line.indexOf(' ');
    if (sp <= 0) return null;
    const oid = line.slice(0, sp);
    const name = line.slice(sp + 1);
    if (!OID_RE.test(oid) || name === '') return null;
    if (name === 'capabilities^{}') continue; // an empty repository advertises only its capabilities
    refs.set(name, oid);
  }
  // "# service" line, flush, refs, flush: anything shorter was cut off.
  return sawService && flushes >= 2 ? refs : null;
}

/** Whether `url` is one this module may ask: http(s), no credentials in it. */
export function probeable(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '';
}

export async function httpRefs(url: string, opts: { dispatcher: Dispatcher; timeoutMs: number }): Promise<Map<string, string> | null> {
  // A deadline cleared when the request ends: AbortSignal.timeout() keeps each signal that ever had a
  // listener until its timer fires, which at thousands of probes a second held hundreds of MB.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), opts.timeoutMs);
  try {
    return await askRefs(url, opts, deadline.signal);
  } finally {
    clearTimeout(timer);
  }
}

async function askRefs(url: string, opts: { dispatcher: Dispatcher; timeoutMs: number }, signal: AbortSignal): Promise<Map<string, string> | null> {
  const u = new URL(url);
  const base = u.pathname.replace(/\/+$/, '');
  let res: Dispatcher.ResponseData;
  try {
    res = await (await undiciLite()).request.call(opts.dispatcher, {
      origin: u.origin,
      path: `${base}/info/refs?service=git-upload-pack`,
      method: 'GET',
      headers: { 'user-agent': 'git/grok-dumb-pull', accept: 'application/x-git-upload-pack-advertisement', pragma: 'no-cache' },
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      signal,
    });
  } catch {
    return null;
  }
  try {
    const type = String(res.headers['content-type'] ?? '');
    if (res.statusCode !== 200 || !type.startsWith('application/x-git-upload-pack-advertisement')) return null;
    const parts: Buffer[] = [];
    let n = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      n += chunk.length;
      if (n > MAX_ADVERTISEMENT_BYTES) return null;
      parts.push(chunk);
    }
    return parseAdvertisement(Buffer.concat(parts, n));
  } catch {
    return null;
  } finally {
    await res.body.dump().catch(() => undefined);
  }
}

const PROXY_VARS = ['http_proxy', 'https_proxy', 'all_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY'];

/**
 * Why the HTTP probe must not be used on this machine, or null when it may: git settings the probe
 * would ignore (URL rewriting with insteadOf, any http.* setting such as a proxy, extra headers or
 * CA files) or a proxy in the environment. Asked once per sweep.
 */
export async function probeBlocker(git: Git, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const proxy = PROXY_VARS.find((v) => env[v]);
  if (proxy) return `${proxy} is set`;
  const res = await git.run({ args: ['config', '--get-regexp', '^(url\\..*\\.insteadof|http\\..*)$'], okExit: [1] });
  const first = res.stdout.toString('utf8').split('\n')[0]?.split(' ')[0];
  return first ? `git config has ${first}` : null;
}
