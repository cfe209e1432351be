/**
 * The list file: one upstream URL per line; blank lines and "#" comments skipped. Each URL goes
 * through the path rules (url-path.ts); two URLs that land on the same mirror path (http and https
 * of one repository) are one mirror: the first listed wins, the other is reported. Pure.
 */
import { redactUrls } from '../../shared/safe-text.js';
import { urlTarget } from './url-path.js';

export interface ListedUrl {
  readonly url: string;
  readonly key: string;
  readonly host: string;
}

export interface ParsedList {
  readonly items: ListedUrl[];
  /** Refused URLs, credentials redacted (they are logged and recorded). */
  readonly refused: { readonly url: string; readonly why: string }[];
}

export function parseUrlList(text: string, opts: { allowFile?: boolean } = {}): ParsedList {
  const items: ListedUrl[] = [];
  const refused: ParsedList['refused'] = [];
  const byKey = new Map<string, string>();
  const seen = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || seen.has(line)) continue;
    seen.add(line);
    const t = urlTarget(line, opts);
    if (!t.ok) {
      refused.push({ url: t.url, why: t.why });
      continue;
    }
    const first = byKey.get(t.key);
    if (first !== undefined) {
      refused.push({ url: redactUrls(t.url), why: `maps to ${t.key}, already mirrored from ${redactUrls(first)}` });
      continue;
    }
    byKey.set(t.key, t.url);
    items.push({ url: t.url, key: t.key, host: t.host });
  }
  return { items, refused };
}
