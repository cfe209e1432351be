/**
 * Watching a manifest while writers race: read it as often as the machine allows (from disk, or from
 * grok-origin with conditional GETs), gunzip and JSON.parse every copy read, and check each against
 * what came before: every repository of a chain collection present, its fingerprint one of its known
 * states, and no state older than one already seen (an update once visible is never lost again).
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import type { ChainCollection } from './commit-chains.js';

export interface WatchStats {
  /** Copies read and parsed. */
  readonly reads: number;
  /** Distinct copies (by content). */
  readonly versions: number;
  readonly failures: readonly string[];
}

type Doc = Record<string, { fingerprint?: unknown } | undefined>;

/** Per-key state tracking over successive manifest copies; returns the problems of each copy. */
export function stateChecker(c: ChainCollection): (doc: Doc) => string[] {
  const last = new Map<string, number>();
  return (doc) => {
    const problems: string[] = [];
    for (const r of c.repos) {
      const e = doc[r.key];
      const fp = typeof e?.fingerprint === 'string' ? e.fingerprint : '';
      const s = c.stateOf(r.key, fp);
      if (s === undefined) problems.push(`${r.key}: ${e ? `unknown fingerprint ${fp}` : 'missing'}`);
      else if (s < (last.get(r.key) ?? 0)) problems.push(`${r.key}: went back from state ${last.get(r.key)} to ${s}`);
      else last.set(r.key, s);
    }
    return problems;
  };
}

export interface ManifestWatch {
  stop(): Promise<WatchStats>;
}

/**
 * Reads with `read` in a loop until stopped; `read` returns the gzip bytes of a new copy, or null
 * when nothing changed (a 304). Each copy is parsed and checked; any failure is recorded.
 */
export function watchCopies(read: () => Promise<Buffer | null>, check: (doc: Doc) => string[], pauseMs = 2): ManifestWatch {
  let stopped = false;
  let reads = 0;
  const seen = new Set<string>();
  const failures: string[] = [];
  const loop = (async () => {
    while (!stopped) {
      try {
        const raw = await read();
        if (raw) {
          const text = gunzipSync(raw).toString('utf8');
          const doc = JSON.parse(text) as Doc;
          reads++;
          seen.add(text);
          for (const p of check(doc)) if (failures.length < 50) failures.push(p);
        }
      } catch (err) {
        if (failures.length < 50) failures.push(`read ${reads + 1}: ${(err as Error).message}`);
        reads++;
      }
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { reads, versions: seen.size, failures };
    },
  };
}

/** Every copy of the file on disk. */
export function watchFile(file: string, check: (doc: Doc) => string[]): ManifestWatch {
  return watchCopies(() => readFile(file), check);
}

/** The manifest as grok-origin serves it, with If-None-Match so unchanged copies cost a 304. */
export function watchServed(url: string, check: (doc: Doc) => string[]): ManifestWatch {
  let etag = '';
  return watchCopies(async () => {
    const res = await fetch(url, { headers: etag ? { 'if-none-match': etag } : {} });
    if (res.status === 304) return null;
    if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
    etag = res.headers.get('etag') ?? '';
    return Buffer.from(await res.arrayBuffer());
  }, check, 10);
}
