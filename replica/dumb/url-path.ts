/**
 * Where a listed upstream URL is mirrored: `<host>[+port]/<path>.git` under the toplevel. The list is
 * untrusted input (tens of millions of lines from crawls), so the mapping is pure, deterministic and
 * refuses anything that could name a path outside the toplevel or make git run something: schemes
 * other than http(s)/git/ssh (`ext::` runs a command, `file://` reads the local disk), "." / ".."
 * segments, hidden segments, control characters and backslashes. Credentials in a URL never reach
 * the path, the logs or the state file (shared/safe-text.ts).
 */
import { keyProblem } from '../../shared/manifest/keys.js';
import { redactUrls } from '../../shared/safe-text.js';

export type UrlTarget =
  | { readonly ok: true; readonly url: string; readonly key: string; readonly host: string }
  | { readonly ok: false; readonly url: string; readonly why: string };

const SCHEMES = new Set(['http:', 'https:', 'git:', 'ssh:']);
// Segments a filesystem or git treats specially; `.git` alone would be a hidden directory too.
const BAD_SEGMENT_RE = /^\.|[\u0000-\u001f\u007f\\:]/;

export function urlTarget(raw: string, opts: { allowFile?: boolean } = {}): UrlTarget {
  const bad = (why: string): UrlTarget => ({ ok: false, url: redactUrls(raw), why });
  if (raw.startsWith('-')) return bad('starts with "-"');
  // URL parsing would quietly resolve "..": such a URL is refused instead, it is no honest upstream.
  if (/\/\.{1,2}(?:\/|$)|%2e/i.test(raw.replace(/^[a-z+]+:\/\/[^/]*/i, ''))) return bad('has a "." or ".." path segment, or an encoded dot');
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return bad('is not an absolute URL (scp-like "host:path" is not accepted; write ssh://host/path)');
  }
  if (!SCHEMES.has(u.protocol) && !(opts.allowFile && u.protocol === 'file:')) return bad(`has the scheme "${u.protocol}", not http, https, git or ssh`);
  if (u.search !== '' || u.hash !== '') return bad('has a query or fragment');
  const host = u.protocol === 'file:' ? 'file' : u.hostname.toLowerCase();
  if (host === '' || !/^[a-z0-9.[\]_-]+$/.test(host)) return bad('has no usable host name');
  let segments: string[];
  try {
    segments = u.pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  } catch {
    return bad('has bad percent-encoding in its path');
  }
  if (segments.length === 0) return bad('names no repository path');
  for (const s of segments) if (BAD_SEGMENT_RE.test(s) || s.includes('/')) return bad(`has an unsafe path segment ${JSON.stringify(s)}`);
  const last = segments.length - 1;
  if (!segments[last]!.endsWith('.git')) segments[last] = `${segments[last]}.git`;
  if (segments[last] === '.git') return bad('names no repository path');
  // "+port" rather than ":port": a colon in a path breaks GIT_ALTERNATE_OBJECT_DIRECTORIES and PATH-like lists.
  const hostDir = u.port !== '' ? `${host}+${u.port}` : host;
  const key = `/${hostDir}/${segments.join('/')}`;
  const why = keyProblem(key);
  if (why) return bad(`maps to a path that ${why}`);
  return { ok: true, url: raw, key, host: u.port !== '' ? `${host}:${u.port}` : host };
}
