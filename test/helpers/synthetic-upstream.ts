/**
 * A synthetic upstream on 127.0.0.1 for list-mode tests at scale: `/s/<n>.git` for any n answers
 * `info/refs` with a deterministic advertisement (one branch whose commit id is derived from n and a
 * generation, so an advertisement changes when the test bumps it), without a repository behind it;
 * the paths given a real repository (`backed`) are passed, every request, to a git server (grok-origin)
 * under that repository's path, so they can be cloned and fetched. Every info/refs request is counted
 * per path: a test can check that every URL was asked.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pktLine as pkt } from '../../shared/git/pkt-line.js';

export interface SyntheticUpstream {
  readonly url: string;
  /** `/s/<n>.git` -> the path of a real repository on `origin` ("/g/r0001.git"). */
  readonly backed: Map<string, string>;
  /** info/refs requests per `/s/<n>.git` path. */
  readonly probes: Map<string, number>;
  /** The advertisement of an unbacked path (what a mirror of it is compared with). */
  advertisement(repoPath: string): Buffer;
  close(): Promise<void>;
}


export function syntheticAdvertisement(repoPath: string, generation = 0): Buffer {
  const oid = createHash('sha1').update(`${repoPath}\0${generation}`).digest('hex');
  return Buffer.from(`${pkt('# service=git-upload-pack\n')}0000${pkt(`${oid} HEAD\0multi_ack side-band-64k symref=HEAD:refs/heads/main\n`)}${pkt(`${oid} refs/heads/main\n`)}0000`, 'latin1');
}

export async function startSyntheticUpstream(originUrl: string): Promise<SyntheticUpstream> {
  const origin = new URL(originUrl);
  const backed = new Map<string, string>();
  const probes = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const m = /^(\/s\/\d+\.git)(\/.*)?$/.exec(url.split('?')[0]!);
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    const repoPath = m[1]!;
    if (m[2] === '/info/refs') probes.set(repoPath, (probes.get(repoPath) ?? 0) + 1);
    const real = backed.get(repoPath);
    if (real === undefined) {
      if (m[2] !== '/info/refs') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-advertisement', 'cache-control': 'no-cache' }).end(syntheticAdvertisement(repoPath));
      return;
    }
    const fwd = http.request({ host: origin.hostname, port: origin.port, method: req.method, path: real + url.slice(repoPath.length), headers: { ...req.headers, host: origin.host } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    fwd.on('error', () => res.writeHead(502).end());
    req.pipe(fwd);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    backed,
    probes,
    advertisement: (p) => syntheticAdvertisement(p),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
