/** grok-origin as a real process (killable, see killable.ts), started and waited for until it listens. */
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN } from './fixture.js';
import { spawnKillable, type Killable } from './killable.js';

export interface OriginProcess {
  readonly proc: Killable;
  /** http://127.0.0.1:<port>, from its "listening on" line. */
  readonly url: string;
  readonly port: number;
}

export async function startOriginProcess(conf: string, args: readonly string[] = []): Promise<OriginProcess> {
  const proc = spawnKillable(BIN.origin, ['-c', conf, ...args]);
  const until = Date.now() + 60_000;
  for (;;) {
    const m = /listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(proc.stdout());
    if (m) return { proc, url: m[1]!, port: Number(m[2]) };
    if (proc.exited()) throw new Error(`grok-origin exited: ${proc.stderr()}`);
    if (Date.now() > until) throw new Error('grok-origin did not start listening in a minute');
    await sleep(20);
  }
}
