/**
 * What an HTTP request to the origin is sent to, and with which credentials: those in the URL itself
 * (`https://user:password@host/...`, percent-decoded, as Python's requests does for grokmirror),
 * else netrc's for the host. The request goes to the URL without its userinfo: undici takes an origin
 * and a path, and the credentials travel only in the Authorization header, never in a log line.
 */
import { netrcCredentials, type Credentials } from './netrc.js';

export type CredentialsLookup = (host: string) => Credentials | null;

export interface HttpTarget {
  readonly origin: string;
  /** Path and query. */
  readonly path: string;
  /** `Basic ...`, or absent. */
  readonly authorization?: string;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function basicAuth(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.login}:${c.password}`).toString('base64')}`;
}

export function httpTarget(url: string, lookup: CredentialsLookup = netrcCredentials): HttpTarget {
  const u = new URL(url);
  const own = u.username !== '' || u.password !== '' ? { login: decode(u.username), password: decode(u.password) } : null;
  const creds = own ?? lookup(u.hostname);
  return { origin: u.origin, path: `${u.pathname}${u.search}`, ...(creds ? { authorization: basicAuth(creds) } : {}) };
}
