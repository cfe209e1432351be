/**
 * How a stand-alone `grok-manifest -n ... $GIT_DIR` finds a running grok-origin and hands it the
 * paths instead of rewriting the manifest itself: the server writes `.<manifest>.origin` beside the
 * manifest (mode 0600: it holds the run's notify token) and removes it when it stops. A missing file,
 * a dead pid or a server that does not answer means "do it yourself", exactly as grokmirror would.
 *
 * The file decides where every push goes, so it is believed only when grok-origin could have written
 * it: a regular file (not a symlink: opened with O_NOFOLLOW), owned by this user or by the manifest's
 * owner, writable by nobody else. Anyone else who can write the manifest's directory could otherwise
 * plant one naming a server of their own, and the manifest would never change again.
 */
import { closeSync, constants, fstatSync, openSync, promises as fsp, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { GrokError } from '../../shared/errors.js';

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

/** A process of another user answers EPERM: alive, but only a server of another user may be it. */
function alive(pid: number, ownPid: boolean): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' && !ownPid;
  }
}

/** The handoff file to use, none (no server), or why a file that is there is not believed. */
export type HandoffLookup = { readonly handoff: Handoff } | { readonly none: true } | { readonly untrusted: string };

export function lookupHandoff(manifestFile: string): HandoffLookup {
  const file = handoffPathFor(manifestFile);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ELOOP' ? { untrusted: `${file} is a symlink` } : { none: true };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { untrusted: `${file} is not a regular file` };
    const me = process.geteuid?.() ?? st.uid;
    const manifestOwner = (() => {
      try {
        return statSync(manifestFile).uid;
      } catch {
        return me;
      }
    })();
    if (st.uid !== me && st.uid !== manifestOwner) return { untrusted: `${file} is owned by uid ${st.uid}, neither this user (${me}) nor the manifest's owner (${manifestOwner})` };
    if ((st.mode & 0o022) !== 0) return { untrusted: `${file} is writable by others (mode ${(st.mode & 0o777).toString(8)})` };
    if (st.size > 64 * 1024) return { untrusted: `${file} is ${st.size} bytes, not a handoff file` };
    const h = JSON.parse(readFileSync(fd, 'utf8')) as Handoff;
    if (typeof h.token !== 'string' || typeof h.pid !== 'number' || (!h.url && !h.socketPath)) return { none: true };
    return alive(h.pid, st.uid === me) ? { handoff: h } : { none: true };
  } catch {
    return { none: true };
  } finally {
    closeSync(fd);
  }
}

export function readHandoff(manifestFile: string): Handoff | null {
  const found = lookupHandoff(manifestFile);
  return 'handoff' in found ? found.handoff : null;
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

/**
 * grok-origin's check of the manifest's directory before it writes its handoff file there: one that
 * every user may write is refused (anyone could plant a handoff file and take the pushes, or in a
 * sticky directory keep grok-origin from writing its own); one its group may write is allowed with
 * a warning (the hooks believe only a file of the right owner). A handoff file grok-origin cannot
 * replace (another user's, in a sticky directory) is refused with its owner named.
 */
export async function checkHandoffDir(manifestFile: string): Promise<{ warning: string | null }> {
  const file = handoffPathFor(manifestFile);
  const dir = path.dirname(file);
  const st = await fsp.stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new GrokError('GROK_ERR_MANIFEST_DIR', `manifest directory ${dir} does not exist`, { dir });
  const mode = (st.mode & 0o7777).toString(8);
  if ((st.mode & 0o002) !== 0) {
    throw new GrokError('GROK_ERR_MANIFEST_DIR', `manifest directory ${dir} is writable by every user (mode ${mode}): anyone could plant ${path.basename(file)} and take the pushes; make it writable by its owner only`, { dir });
  }
  const old = await fsp.lstat(file).catch(() => null);
  const me = process.geteuid?.() ?? st.uid;
  if (old && old.uid !== me) {
    const gone = await fsp.rm(file, { force: true }).then(() => true, () => false);
    if (!gone) throw new GrokError('GROK_ERR_MANIFEST_DIR', `${file} belongs to uid ${old.uid} and cannot be replaced: remove it (and check who can write ${dir})`, { file });
  }
  return { warning: (st.mode & 0o020) !== 0 ? `manifest directory ${dir} is writable by its group (mode ${mode}): hooks ignore a handoff file that is not this user's, but group members can still replace the manifest` : null };
}
