/**
 * A change-feed client that behaves as a replica must: keeps the newest fingerprint it was told of per
 * repository, resumes with Last-Event-ID when its stream ends, and on `event: reset` re-reads the whole
 * manifest (the recovery the feed promises). Counts what it saw so a test can report it.
 */
import { gunzipSync } from 'node:zlib';

export interface FeedFollower {
  /** Newest fingerprint per key (null: the repository left). */
  readonly latest: Map<string, string | null>;
  readonly counts: { changes: number; resets: number; reconnects: number };
  readonly errors: string[];
  /** Resolves once `ok()` holds (checked after every event), or rejects after `timeoutMs`. */
  until(ok: () => boolean, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

export async function followFeed(origin: string, manifestUrl: string): Promise<FeedFollower> {
  const latest = new Map<string, string | null>();
  const counts = { changes: 0, resets: 0, reconnects: 0 };
  const errors: string[] = [];
  const ac = new AbortController();
  let lastId = '';
  let waiters: (() => void)[] = [];
  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const reread = async () => {
    const res = await fetch(manifestUrl, { signal: ac.signal });
    const doc = JSON.parse(gunzipSync(Buffer.from(await res.arrayBuffer())).toString('utf8')) as Record<string, { fingerprint: string }>;
    for (const [k, e] of Object.entries(doc)) latest.set(k, e.fingerprint);
  };
  let opened!: () => void;
  const open = new Promise<void>((r) => (opened = r));
  const loop = (async () => {
    while (!ac.signal.aborted) {
      try {
        const res = await fetch(`${origin}/_grok/events`, { headers: lastId ? { 'last-event-id': lastId } : {}, signal: ac.signal });
        opened();
        const decoder = new TextDecoder();
        let buf = '';
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buf += decoder.decode(chunk, { stream: true });
          let at: number;
          while ((at = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, at);
            buf = buf.slice(at + 2);
            const fields = new Map<string, string>();
            for (const l of block.split('\n')) if (!l.startsWith(':') && l.includes(': ')) fields.set(l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2));
            if (fields.has('id')) lastId = fields.get('id')!;
            if (fields.get('event') === 'change') {
              const d = JSON.parse(fields.get('data') ?? 'null') as { key: string; entry: { fingerprint: string } | null };
              latest.set(d.key, d.entry ? d.entry.fingerprint : null);
              counts.changes++;
            } else if (fields.get('event') === 'reset') {
              counts.resets++;
              await reread();
            }
            wake();
          }
        }
      } catch (err) {
        if (ac.signal.aborted) break;
        errors.push((err as Error).message);
      }
      if (ac.signal.aborted) break;
      counts.reconnects++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await open;
  return {
    latest,
    counts,
    errors,
    async until(ok, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error('the feed did not catch up in time');
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
    },
    async stop() {
      ac.abort();
      await loop;
    },
  };
}
