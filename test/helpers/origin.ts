import path from 'node:path';
import { buildConfig } from '../../shared/config/config.js';
import { parseIni } from '../../shared/config/ini.js';
import { Git } from '../../shared/git/index.js';
import { silentLogger } from '../../shared/log.js';
import { startOrigin, type RunningOrigin } from '../../origin/server/origin.js';
import { originSettings, type OriginSettings } from '../../origin/server/settings.js';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

/** Settings as a grokmirror.conf would give them, listening on an ephemeral loopback port. */
export function testSettings(top: string, extra = '', manifest = 'manifest.js.gz'): OriginSettings {
  const text = `[core]\ntoplevel = ${top}\nmanifest = ${path.join(top, manifest)}\n[origin]\nlisten = 127.0.0.1:0\nwrite_delay_ms = 5\n${extra}`;
  return originSettings(buildConfig(parseIni(text, 'test.conf')));
}

export async function startTestOrigin(t: Teardown, top: string, opts: { extra?: string; settings?: Partial<OriginSettings>; now?: () => number } = {}): Promise<RunningOrigin> {
  const settings = { ...testSettings(top, opts.extra), ...opts.settings };
  const origin = await startOrigin(settings, { git: new Git(), log: silentLogger(), now: opts.now ?? Date.now });
  t.teardown(() => origin.close());
  return origin;
}

/** Reads an SSE stream until `count` change events have arrived (or the timeout passes). */
export async function readEvents(url: string, opts: { lastEventId?: string; count: number; timeoutMs?: number; onOpen?: () => void }): Promise<{ id: string; event: string; data: unknown }[]> {
  const ac = new AbortController();
  // A guard against a feed that never answers, not a timing assertion: generous, since the events
  // awaited may follow a whole grok-manifest run on a loaded machine.
  const timer = setTimeout(() => ac.abort(), opts.timeoutMs ?? 60_000);
  const res = await fetch(url, { headers: opts.lastEventId ? { 'last-event-id': opts.lastEventId } : {}, signal: ac.signal });
  const out: { id: string; event: string; data: unknown }[] = [];
  let counted = 0;
  const decoder = new TextDecoder();
  let buf = '';
  opts.onOpen?.();
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let at: number;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const fields = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':') && l.includes(': ')).map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));
        if (fields.event) out.push({ id: fields.id ?? '', event: fields.event, data: JSON.parse(fields.data ?? 'null') });
        if (fields.event === 'change' || fields.event === 'reset') counted++;
        if (counted >= opts.count) return out;
      }
    }
  } catch (err) {
    if (!ac.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return out;
}

/** One raw HTTP/1.1 request, path sent byte for byte (fetch and inject normalise "..", curl too). */
export async function rawRequest(url: string, rawPath: string, extraHeaders = ''): Promise<{ status: number; text: string }> {
  const { connect } = await import('node:net');
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname);
    let text = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => (text += d));
    sock.on('error', reject);
    sock.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }));
    sock.write(`GET ${rawPath} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n${extraHeaders}\r\n`);
  });
}
