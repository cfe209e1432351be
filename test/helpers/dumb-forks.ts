/**
 * The "objects from the whole collection" scenario of grok-dumb-pull list mode, shared by its slow
 * test and `npm run bench:dumb`: an upstream (incompressible blobs, tags) and N forks of it, each
 * with commits of its own on master (the upstream's tags kept, as forks on a hosting site keep them),
 * served by grok-origin on 127.0.0.1 behind a proxy that counts the bytes of every response (HTTP
 * headers and bodies: the refs probes, `info/refs` and every upload-pack exchange), listed as URLs
 * and mirrored twice in the same run: with the collection (--collection) and without it (each fork
 * cloned in full, the floor to beat). Disk is `du -sk` of each toplevel (the objstore
 * directory lies inside it).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Git } from '../../shared/git/index.js';
import { silentLogger } from '../../shared/log.js';
import { startOrigin } from '../../origin/server/origin.js';
import { runList, type ListRunResult } from '../../replica/dumb/run-list.js';
import { git, noise } from './git.js';
import { writeUpstreamManifest } from './dumb-upstreams.js';
import { testSettings } from './origin.js';

export interface ForkUpstreams {
  readonly up: string;
  /** Keys of the forks, `/f/forkNNN.git`. */
  readonly keys: readonly string[];
}

/** An upstream of `mb` MB in 8 commits, tagged v1..v4, and `forks` forks with `own` commits each. */
export async function makeForkUpstreams(up: string, forks: number, opts: { mb: number; own: number }): Promise<ForkUpstreams> {
  const work = path.join(up, '..', 'upstream.work');
  mkdirSync(work, { recursive: true });
  git(['init', '-q', '-b', 'master', work]);
  for (let c = 0; c < 8; c++) {
    writeFileSync(path.join(work, `blob-${c}.bin`), noise(`upstream-${c}`, Math.round((opts.mb * 1024 * 1024) / 8)));
    git(['add', '-A'], { cwd: work });
    const date = `${1_600_000_000 + c * 60} +0000`;
    git(['commit', '-q', '-m', `upstream ${c}`], { cwd: work, env: { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } });
    if (c % 2 === 1) git(['tag', '-a', '-m', `v${(c + 1) / 2}`, `v${(c + 1) / 2}`], { cwd: work });
  }
  const upstream = path.join(up, 'upstream.git');
  git(['clone', '-q', '--bare', work, upstream]);
  const keys: string[] = [];
  mkdirSync(path.join(up, 'f'), { recursive: true });
  for (let i = 0; i < forks; i++) {
    const key = `/f/fork${String(i).padStart(3, '0')}.git`;
    // Hardlinked objects: each fork a complete repository of its own, cheaply; its own commits
    // are made in the one work tree and pushed to it.
    git(['clone', '-q', '--bare', upstream, path.join(up, key)]);
    git(['reset', '-q', '--hard', 'v4'], { cwd: work });
    for (let c = 0; c < opts.own; c++) {
      writeFileSync(path.join(work, `fork-${i}-${c}.txt`), `fork ${i}, its own commit ${c}\n`);
      git(['add', '-A'], { cwd: work });
      const date = `${1_700_000_000 + i * 10 + c} +0000`;
      git(['commit', '-q', '-m', `fork ${i} commit ${c}`], { cwd: work, env: { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } });
    }
    git(['push', '-q', '-f', path.join(up, key), 'HEAD:refs/heads/master'], { cwd: work });
    keys.push(key);
  }
  execFileSync('rm', ['-rf', work]);
  await writeUpstreamManifest(up);
  return { up, keys };
}

export interface SweepFigures {
  /** Bytes of every HTTP response the upstream server sent during the sweep. */
  readonly bytes: number;
  /** `du -sk` of the toplevel after the sweep, in KiB. */
  readonly diskKb: number;
  readonly ms: number;
  readonly result: ListRunResult;
}

export interface ServedForks {
  readonly url: string;
  /** The directory under a toplevel that the served URLs map to (`127.0.0.1+<port>`). */
  readonly hostDir: string;
  /** Mirrors every fork under `top` (state database beside it); `collection`: as --collection. */
  sweep(top: string, collection: boolean, jobs?: number): Promise<SweepFigures>;
  close(): Promise<void>;
}

export async function serveForks(f: ForkUpstreams): Promise<ServedForks> {
  const origin = await startOrigin(testSettings(f.up), { git: new Git(), log: silentLogger(), now: Date.now });
  const target = new URL(origin.url);
  let bytes = 0;
  const proxy = http.createServer((req, res) => {
    const fwd = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } }, (upRes) => {
      // The status line and headers count too: they travel as much as the body does.
      bytes += Buffer.byteLength(`HTTP/1.1 ${upRes.statusCode} ${upRes.statusMessage}\r\n`) + upRes.rawHeaders.reduce((n, h) => n + Buffer.byteLength(h) + 2, 0) + 2;
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.on('data', (d: Buffer) => (bytes += d.length));
      upRes.pipe(res);
    });
    fwd.on('error', () => res.writeHead(502).end());
    req.pipe(fwd);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  return {
    url,
    hostDir: `127.0.0.1+${(proxy.address() as AddressInfo).port}`,
    async sweep(top, collection, jobs = 8) {
      mkdirSync(top, { recursive: true });
      const list = `${top}.urls`;
      writeFileSync(list, f.keys.map((k) => `${url}${k}`).join('\n') + '\n');
      const before = bytes;
      const t0 = Date.now();
      const result = await runList(
        {
          listFile: list,
          toplevel: top,
          stateFile: `${top}.state.sqlite`,
          legacyStateFile: null,
          manifestFile: path.join(top, 'manifest.js.gz'),
          jobs,
          perHost: jobs,
          attempts: 1,
          backoffMs: 0,
          lsRemoteTimeoutMs: 120_000,
          postUpdateHook: [],
          detect: true,
          allowFile: false,
          refProbe: 'auto',
          checkpointMs: 60_000,
          schedule: { firstMs: 3_600_000, maxMs: 86_400_000 },
          all: true,
          objstoreDir: collection ? path.join(top, 'objstore') : null,
        },
        { git: new Git(), log: silentLogger(), now: Date.now, sleep: async () => {} },
      );
      const ms = Date.now() - t0;
      const diskKb = Number(execFileSync('du', ['-sk', top], { encoding: 'utf8' }).split('\t')[0]);
      return { bytes: bytes - before, diskKb, ms, result };
    },
    async close() {
      await new Promise<void>((r) => proxy.close(() => r()));
      await origin.close();
    },
  };
}
