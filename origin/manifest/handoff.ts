/**
 * How a stand-alone `grok-manifest -n ... $GIT_DIR` finds a running grok-origin and hands it the
 * paths instead of rewriting the manifest itself: the server writes `.<manifest>.origin` beside the
 * manifest (mode 0600: it holds the run's notify token) and removes it when it stops. A missing file,
 * a dead pid or a server that does not answer means "do it yourself", exactly as grokmirror would.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';

export interface Handoff {
  /** http://host:port, or a unix socket path. */
  readonly url?: string;
  readonly socketPath?: string;
  readonly token: string;
  readonly pid: number;
}

export interface NoticeBody {
  readonly paths: readonly string[];
  readonly use_now?: boolean;
  readonly ignore_refs?: readonly string[];
}

export function handoffPathFor(manifestFile: string): string {
  const abs = path.resolve(manifestFile);
  return path.join(path.dirname(abs), `.${path.basename(abs)}.origin`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readHandoff(manifestFile: string): Handoff | null {
  try {
    const h = JSON.parse(readFileSync(handoffPathFor(manifestFile), 'utf8')) as Handoff;
    if (typeof h.token !== 'string' || typeof h.pid !== 'number' || (!h.url && !h.socketPath)) return null;
    return alive(h.pid) ? h : null;
  } catch {
    return null;
  }
}

export interface HandoffReply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** POSTs the notice; rejects when the server cannot be reached in time. */
export function sendNotice(h: Handoff, notice: NoticeBody, timeoutMs = 30_000): Promise<HandoffReply> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(notice);
    const url = h.url ? new URL('/_grok/notify', h.url) : null;
    const req = request(
      {
        ...(url ? { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port, path: url.pathname } : { socketPath: h.socketPath, path: '/_grok/notify' }),
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), authorization: `Bearer ${h.token}` },
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => {
          let body: Record<string, unknown> = {};
          try {
            body = JSON.parse(text) as Record<string, unknown>;
          } catch {
            body = { error: text };
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from grok-origin in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}
