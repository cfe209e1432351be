/**
 * Upstreams for grok-dumb-pull tests and its benchmark: many bare repositories made cheaply (one seed,
 * then `git clone --bare --shared` per upstream), served by grok-origin behind a small front server
 * on 127.0.0.1 that plays the parts an archive meets in the wild: a private repository (401 with
 * WWW-Authenticate), a vanished one (404), a flaky one (503 the first time), everything else passed
 * through to grok-origin. And a `git` shim that logs every git process grok-dumb-pull starts.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Git } from '../../shared/git/index.js';
import { silentLogger } from '../../shared/log.js';
import { runManifest } from '../../origin/manifest/run.js';
import { git, makeRepo } from './git.js';
import { manifestOptions } from './manifest.js';

/** `count` upstreams `<top>/g/rNNNN.git`; returns their keys. */
export function makeUpstreams(top: string, count: number): string[] {
  const seed = path.join(top, '..', 'seed.git');
  makeRepo(seed, { commits: 2 });
  mkdirSync(path.join(top, 'g'), { recursive: true });
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const key = `/g/r${String(i).padStart(4, '0')}.git`;
    git(['clone', '-q', '--bare', '--shared', seed, path.join(top, key)]);
    keys.push(key);
  }
  return keys;
}

export async function writeUpstreamManifest(top: string): Promise<void> {
  await runManifest(manifestOptions(top, path.join(top, 'manifest.js.gz'), { regenerate: true }), { git: new Git(), log: silentLogger(), now: Date.now });
}

export interface FrontServer {
  readonly url: string;
  /** Repository paths (e.g. "/g/r0001.git") answered with 404 from now on. */
  readonly gone: Set<string>;
  /** Requests seen per repository path prefix, for the flaky route. */
  readonly flakyHits: Map<string, number>;
  close(): Promise<void>;
}

/**
 * `/private/...` answers 401 with a Basic challenge; `/flaky/<rest>` answers 503 to its first request
 * and passes later ones to `/<rest>` on the origin; paths in `gone` answer 404.
 */
export async function startFrontServer(originUrl: string): Promise<FrontServer> {
  const origin = new URL(originUrl);
  const gone = new Set<string>();
  const flakyHits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    let url = req.url ?? '/';
    if (url.startsWith('/private/')) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="private"', 'content-type': 'text/plain' }).end('Authentication required\n');
      return;
    }
    if (url.startsWith('/flaky/')) {
      const repo = url.split('.git')[0]!;
      const hits = (flakyHits.get(repo) ?? 0) + 1;
      flakyHits.set(repo, hits);
      if (hits === 1) {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('Try again later\n');
        return;
      }
      url = url.slice('/flaky'.length);
    }
    const repoPath = `${url.split('.git')[0]}.git`;
    if (gone.has(repoPath)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
      return;
    }
    const fwd = http.request({ host: origin.hostname, port: origin.port, method: req.method, path: url, headers: { ...req.headers, host: origin.host } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    fwd.on('error', () => res.writeHead(502).end());
    req.pipe(fwd);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    gone,
    flakyHits,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** A directory holding a `git` that logs its arguments to `log` and runs the real git. */
export function gitShim(dir: string, log: string): string {
  const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  mkdirSync(dir, { recursive: true });
  const shim = path.join(dir, 'git');
  writeFileSync(shim, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${real}' "$@"\n`);
  chmodSync(shim, 0o755);
  writeFileSync(log, '');
  return dir;
}

/** The git subcommands in the shim's log (global options such as --git-dir= and -c k=v skipped). */
export function loggedSubcommands(log: string): string[] {
  const subs: string[] = [];
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const words = line.split(' ').filter((w) => w !== '');
    let i = 0;
    while (i < words.length && words[i]!.startsWith('-')) i += words[i] === '-c' ? 2 : 1;
    if (words[i]) subs.push(words[i]!);
  }
  return subs;
}

export function truncate(file: string): void {
  writeFileSync(file, '');
}
