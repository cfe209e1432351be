/**
 * Who a request comes from, for per-client limits: the peer's address, or, when the peer is a proxy
 * on this host (a loopback address) that says whom it forwards for, the last `X-Forwarded-For` entry
 * (the one that proxy added; earlier ones are the client's own claims). IPv6 clients count by their
 * /64, which is what one host or one customer usually gets; IPv4-mapped addresses count as IPv4.
 */
import { isIP } from 'node:net';

export function isLoopback(addr: string | undefined): boolean {
  return !!addr && (addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.'));
}

function expandV6(addr: string): string[] | null {
  const [head, tail, ...rest] = addr.split('::');
  if (rest.length > 0) return null;
  const a = head ? head.split(':') : [];
  const b = tail ? tail.split(':') : [];
  if (tail === undefined) return a.length === 8 ? a : null;
  const fill = 8 - a.length - b.length;
  return fill < 1 ? null : [...a, ...Array<string>(fill).fill('0'), ...b];
}

/** The address as a limit counts it: IPv4 whole, IPv6 by its /64. */
export function clientKey(addr: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  if (v4) return v4[1]!;
  if (isIP(addr) !== 6) return addr;
  const groups = expandV6(addr.replace(/%.*$/, ''));
  return groups ? `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '').toLowerCase()).join(':')}::/64` : addr;
}

export function clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined): string {
  const p = peer ?? 'unknown';
  if (!isLoopback(p) || forwardedFor === undefined) return clientKey(p);
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
  const last = header.split(',').map((s) => s.trim()).filter((s) => s !== '').pop();
  return last && isIP(last) ? clientKey(last) : clientKey(p);
}
