/**
 * A synthetic smart-HTTP upstream for the 1M dumb-pull benchmark: one process, one port on
 * 127.0.0.1, answering `GET <path>/info/refs?service=git-upload-pack` for a million generated paths
 * (synthetic-paths.ts) and `POST <path>/git-upload-pack` by running the real git upload-pack on the
 * backing repository the path advertises, so a changed path is fetched for real. Advertisements are
 * git's own (`upload-pack --advertise-refs`), made once per backing repository. `POST /-/round/<r>`
 * selects the round; `GET /-/stats` counts what was served.
 * Run: node synthetic-upstream.js <backing dir> <templates> <fraction> <rounds>; prints
 * "listening on http://127.0.0.1:<port>".
 */
import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import { backingRepo, numberOf, templateOf, versionOf, type SyntheticPlan } from './synthetic-paths.js';
import { pktLine as pkt } from '../../shared/git/pkt-line.js';

const [backing, templatesArg, fractionArg, roundsArg] = process.argv.slice(2);
if (!backing || !templatesArg || !fractionArg || !roundsArg) throw new Error('usage: synthetic-upstream <backing dir> <templates> <fraction> <rounds>');
const plan: SyntheticPlan = { templates: Number(templatesArg), fraction: Number(fractionArg) };
const rounds = Number(roundsArg);

const adverts = new Map<string, Buffer>();
for (let v = 1; v <= rounds; v++) {
  for (let t = 0; t < plan.templates; t++) {
    const repo = backingRepo(v, t);
    const refs = execFileSync('git', ['upload-pack', '--stateless-rpc', '--advertise-refs', path.join(backing, repo)]);
    adverts.set(repo, Buffer.concat([Buffer.from(`${pkt('# service=git-upload-pack\n')}0000`), refs]));
  }
}

let round = 1;
const stats = { infoRefs: 0, uploadPacks: 0, notFound: 0 };

const server = http.createServer((req, res) => {
  const [urlPath = '', query = ''] = (req.url ?? '').split('?');
  const control = /^\/-\/round\/(\d+)$/.exec(urlPath);
  // The benchmark asks these between sweeps minutes apart: a kept-alive socket would be stale by then.
  if (urlPath.startsWith('/-/')) res.setHeader('connection', 'close');
  if (control && req.method === 'POST') {
    round = Number(control[1]);
    res.end(`round ${round}\n`);
    return;
  }
  if (urlPath === '/-/stats') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ round, ...stats }));
    return;
  }
  const n = numberOf(urlPath);
  const repo = n === null ? undefined : backingRepo(versionOf(plan, n, round), templateOf(plan, n));
  if (repo === undefined || !adverts.has(repo)) {
    stats.notFound++;
    res.statusCode = 404;
    res.end('Not found\n');
    return;
  }
  if (req.method === 'GET' && urlPath.endsWith('/info/refs') && query === 'service=git-upload-pack') {
    stats.infoRefs++;
    res.setHeader('content-type', 'application/x-git-upload-pack-advertisement');
    res.setHeader('cache-control', 'no-cache');
    res.end(adverts.get(repo));
    return;
  }
  if (req.method === 'POST' && urlPath.endsWith('/git-upload-pack')) {
    stats.uploadPacks++;
    const child = spawn('git', ['upload-pack', '--stateless-rpc', path.join(backing, repo)], { stdio: ['pipe', 'pipe', 'inherit'] });
    res.setHeader('content-type', 'application/x-git-upload-pack-result');
    res.setHeader('cache-control', 'no-cache');
    const body = req.headers['content-encoding'] === 'gzip' ? req.pipe(createGunzip()) : req;
    body.pipe(child.stdin);
    child.stdout.pipe(res);
    child.on('error', () => res.destroy());
    return;
  }
  stats.notFound++;
  res.statusCode = 404;
  res.end('Not found\n');
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const a = server.address() as { port: number };
  process.stdout.write(`listening on http://127.0.0.1:${a.port}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
