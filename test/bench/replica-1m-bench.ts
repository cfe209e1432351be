/**
 * The replica at 1M entries (issue 19), side by side with the real grokmirror in the same run: a
 * manifest of 1,000,001 entries (file://) of which the config wants one real repository. Each tool
 * first mirrors it, then the origin changes that repository and each runs one pass (the figure);
 * the daemon's figures come from daemonFigures. `npm run bench -- --only=replica-1m` runs just this
 * and rewrites its section of BENCHMARKS.md.
 */
import os from 'node:os';
import path from 'node:path';
import { BIN } from '../helpers/fixture.js';
import { peerMissing, PEER_DIR } from '../interop/peer.js';
import { makeReplica1M, type Replica1M } from './replica-1m.js';
import { timeProcess, type Sample } from './measure.js';

export interface PassFigures {
  readonly entries: number;
  readonly ours: Sample[];
  /** null when grokmirror cannot run here (the reason in `peerMissing`). */
  readonly peer: Sample[] | null;
  readonly peerMissing: string | null;
}

const ourPass = (s: Replica1M, args: string[] = []) => timeProcess([process.execPath, BIN.pull, '-c', s.conf, ...args]);
const peerPass = (s: Replica1M) => timeProcess(['env', `PYTHONPATH=${PEER_DIR}`, 'PYTHONDONTWRITEBYTECODE=1', 'python3', '-m', 'grokmirror.pull', '-c', s.peerConf]);

/** `reps` passes of each tool, each after one change at the origin. */
export function benchReplicaPass(work: string, count: number, reps: number, log: (s: string) => void = console.log): PassFigures {
  const s = makeReplica1M(path.join(work, `replica-${count}`), count);
  const missing = peerMissing();
  log(`replica ${count}: initial passes${missing ? ` (grokmirror left out: ${missing})` : ''}`);
  ourPass(s);
  if (!missing) peerPass(s);
  const ours: Sample[] = [];
  const peer: Sample[] = [];
  for (let i = 0; i < reps; i++) {
    s.change();
    ours.push(ourPass(s));
    log(`  ours: ${(ours.at(-1)!.ms / 1000).toFixed(2)} s, ${((ours.at(-1)!.rssKb ?? 0) / 1024).toFixed(0)} MB`);
    if (!missing) {
      peer.push(peerPass(s));
      log(`  grokmirror: ${(peer.at(-1)!.ms / 1000).toFixed(2)} s, ${((peer.at(-1)!.rssKb ?? 0) / 1024).toFixed(0)} MB`);
    }
  }
  return { entries: count, ours, peer: missing ? null : peer, peerMissing: missing };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const count = Number(process.env.REPLICA_ENTRIES ?? 1_000_001);
  benchReplicaPass(process.env.BENCH_WORK ?? path.join(os.tmpdir(), 'grokmirror-ts-bench'), count, Number(process.env.REPS ?? 1));
}
