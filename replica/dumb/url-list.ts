/**
 * The list file: one upstream URL per line; blank lines and "#" comments skipped. Each URL goes
 * through the path rules (url-path.ts); two URLs that land on the same mirror path (http and https
 * of one repository) are one mirror: the first listed wins, the other is reported. A mirror is never
 * nested in another (`…/a.git` and `…/a.git/refs/heads/x.git`: the second would be written into the
 * first's refs/): of two listed URLs one inside the other, the inner one is refused, unless only it
 * exists as a repository already (then the outer one is). Pure; `isRepo` says what is on disk.
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

export interface ListOptions {
  readonly allowFile?: boolean;
  /** Whether a mirror path already holds a repository (consulted for nested pairs only). */
  readonly isRepo?: (key: string) => boolean;
}

/** The keys of the directories above `key` ("/h/a.git/x.git": "/h", "/h/a.git"). */
export function parentKeys(key: string): string[] {
  const parts = key.split('/').slice(1, -1);
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
}

export function parseUrlList(text: string, opts: ListOptions = {}): ParsedList {
  const items: ListedUrl[] = [];
  const refused: { url: string; why: string }[] = [];
  const byKey = new Map<string, ListedUrl>();
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
      refused.push({ url: redactUrls(t.url), why: `maps to ${t.key}, already mirrored from ${redactUrls(first.url)}` });
      continue;
    }
    const item = { url: t.url, key: t.key, host: t.host };
    byKey.set(t.key, item);
    items.push(item);
  }
  const isRepo = opts.isRepo ?? (() => false);
  const nested = new Map<string, string>();
  for (const inner of items) {
    for (const k of parentKeys(inner.key)) {
      const outer = byKey.get(k);
      if (outer === undefined) continue;
      if (isRepo(inner.key) && !isRepo(outer.key)) nested.set(outer.key, `would contain the mirror ${inner.key} (of ${redactUrls(inner.url)})`);
      else nested.set(inner.key, `maps to ${inner.key}, inside the mirror ${outer.key} (of ${redactUrls(outer.url)})`);
    }
  }
  for (const it of items) {
    const why = nested.get(it.key);
    if (why !== undefined) refused.push({ url: redactUrls(it.url), why });
  }
  return { items: items.filter((it) => !nested.has(it.key)), refused };
}
