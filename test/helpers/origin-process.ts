/** grok-origin as installed (dist/bin), a real process, for tests that need its own event loop. */
import { spawn } from 'node:child_process';
import { BIN } from './fixture.js';
import { GIT_ENV } from './git.js';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export interface OriginProcess {
  /** http://127.0.0.1:<port>, from its "listening on" line. */
  readonly url: string;
  /** SIGTERM, then its exit status (the same promise however often it is called). */
  stop(): Promise<number | null>;
}

export async function startOriginProcess(t: Teardown, conf: string): Promise<OriginProcess> {
  const child = spawn(process.execPath, [BIN.origin, '-c', conf], { env: GIT_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  // Kept for the message when it fails to start; read continuously so a chatty server never blocks.
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      const m = /listening on (\S+)/.exec(d);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`grok-origin exited ${code}: ${err}`)));
  });
  let stopping: Promise<number | null> | null = null;
  const stop = () => (stopping ??= (child.kill('SIGTERM'), exited));
  t.teardown(async () => void (await stop()));
  return { url, stop };
}
