#!/usr/bin/env node
// post-receive / post-update hook: tell grok-origin that this repository changed, with one HTTP POST
// and nothing beyond Node's own modules; the same behaviour as post-receive-notify.sh, for origins
// that have Node but not curl. When no grok-origin answers, fall back to
// `grok-manifest --standalone -n -m $GROK_MANIFEST -t $GROK_TOPLEVEL <repo>`, which updates the
// manifest file itself exactly as grokmirror's hook would.
//
// Install: copy (or symlink) into each repository's hooks/ (or a shared core.hooksPath) as
// post-receive, executable, and set GROK_MANIFEST and GROK_TOPLEVEL below or in the environment of
// the git daemon / gitolite.
//
// Where the server is:
// - GROK_ORIGIN_URL (e.g. http://127.0.0.1:8080) and GROK_NOTIFY_SECRET ([origin] notify_secret),
//   when set: for hooks that run as a user who cannot read grok-origin's handoff file, or when
//   notify_secret is set (then every caller needs a secret);
// - otherwise .<manifest>.origin beside the manifest, which grok-origin writes while it runs (mode
//   0600: the address it listens on and a per-run token; this hook must run as a user who can read it).
//
// No static imports: the file then runs whether Node loads it as an ES module (this .mjs name, or a
// symlink to it) or as CommonJS (a copy named plain "post-receive").
'use strict';

const MANIFEST = process.env.GROK_MANIFEST || '/var/lib/git/mirror/manifest.js.gz';
const TOPLEVEL = process.env.GROK_TOPLEVEL || '/var/lib/git/mirror';
const GROK_MANIFEST_BIN = process.env.GROK_MANIFEST_BIN || 'grok-manifest';
const TIMEOUT_MS = 30_000;

async function main() {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const repo = fs.realpathSync(process.env.GIT_DIR || '.');

  const server = findServer(fs, path);
  if (server) {
    try {
      const version = () => {
        try {
          // the change time too: a new write may be given the inode an older one freed
          const st = fs.statSync(MANIFEST, { bigint: true });
          return `${st.ino}:${st.ctimeNs}:${st.mtimeNs}:${st.size}`;
        } catch {
          return null;
        }
      };
      const before = version();
      const reply = await notify(server, { paths: [repo], use_now: true });
      const changed = ['added', 'updated', 'removed'].some((k) => Array.isArray(reply.body[k]) && reply.body[k].length > 0);
      // The server answers once its write is on disk: a change reported while the file is as it was
      // came from something that does not write this manifest.
      if (reply.status === 200 && changed && version() === before) {
        process.stderr.write(`grok-origin reported changes but ${MANIFEST} was not rewritten\n`);
      } else if (reply.status === 200) {
        // The server answers once the manifest write is on disk; a path it could not use is named.
        const problems = [...(reply.body.rejected || []), ...(reply.body.failed || [])];
        for (const p of problems) process.stderr.write(`grok-origin: ${p.path || p.key}: ${p.error}\n`);
        return problems.length === 0 ? 0 : 1;
      } else process.stderr.write(`grok-origin answered ${reply.status} (${reply.body.error || 'no reason given'})\n`);
    } catch (err) {
      process.stderr.write(`grok-origin did not answer (${err.message})\n`);
    }
    process.stderr.write(`grok-origin did not take the notice; updating ${MANIFEST} directly\n`);
  }
  return fallback(repo);
}

/**
 * The configured server, else the one named by the handoff file, else null. The file is believed
 * only as grok-origin writes it: a regular file (opened without following a symlink), owned by this
 * user or the manifest's owner, writable by nobody else; anyone else who can write the manifest's
 * directory could otherwise plant one naming a server of their own and take every push.
 */
function findServer(fs, path) {
  if (process.env.GROK_ORIGIN_URL) return { url: process.env.GROK_ORIGIN_URL, token: process.env.GROK_NOTIFY_SECRET || '' };
  const abs = path.resolve(MANIFEST);
  const file = path.join(path.dirname(abs), `.${path.basename(abs)}.origin`);
  let fd;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    if (err.code === 'ELOOP') process.stderr.write(`ignoring ${file}: a symlink\n`);
    return null; // no server running (or not readable by this user): the fallback does the work
  }
  let h;
  let mine;
  try {
    const st = fs.fstatSync(fd);
    const me = process.geteuid();
    let manifestOwner = me;
    try {
      manifestOwner = fs.statSync(abs).uid;
    } catch {}
    if (!st.isFile() || (st.uid !== me && st.uid !== manifestOwner) || (st.mode & 0o022) !== 0) {
      process.stderr.write(`ignoring ${file}: not a file grok-origin wrote (another user's, or writable by others)\n`);
      return null;
    }
    mine = st.uid === me;
    h = JSON.parse(fs.readFileSync(fd, 'utf8'));
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
  if (!h || typeof h.token !== 'string' || (!h.url && !h.socketPath)) return null;
  // A file left by a server that was killed: do not wait on whatever holds its address now.
  if (typeof h.pid === 'number' && !alive(h.pid, mine)) return null;
  return h;
}

/** EPERM: a process of another user, which can be the server only when the file is another user's. */
function alive(pid, mine) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM' && !mine;
  }
}

async function notify(server, notice) {
  const data = JSON.stringify(notice);
  const url = server.url ? new URL('/_grok/notify', server.url) : null;
  const { request } = url && url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) };
  if (server.token) headers.authorization = `Bearer ${server.token}`;
  return new Promise((resolve, reject) => {
    const req = request(
      url
        ? { protocol: url.protocol, host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port, path: url.pathname, method: 'POST', headers, timeout: TIMEOUT_MS }
        : { socketPath: server.socketPath, path: '/_grok/notify', method: 'POST', headers, timeout: TIMEOUT_MS },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d) => (text += d));
        res.on('end', () => {
          let body;
          try {
            body = JSON.parse(text);
          } catch {
            body = { error: text.trim() };
          }
          resolve({ status: res.statusCode || 0, body: body && typeof body === 'object' ? body : {} });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in ${TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(data);
  });
}

async function fallback(repo) {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve) => {
    const child = spawn(GROK_MANIFEST_BIN, ['--standalone', '-n', '-m', MANIFEST, '-t', TOPLEVEL, repo], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (err) => {
      process.stderr.write(`cannot run ${GROK_MANIFEST_BIN}: ${err.message}\n`);
      resolve(1);
    });
    child.on('close', (code) => resolve(code === null ? 1 : code));
  });
}

main().then(
  (code) => (process.exitCode = code),
  (err) => {
    process.stderr.write(`post-receive-notify: ${err.message}\n`);
    process.exitCode = 1;
  },
);
