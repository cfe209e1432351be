/** Starting and stopping grok-origin as its own process for the benchmarks. */
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN } from '../helpers/fixture.js';
import { GIT_ENV } from '../helpers/git.js';

export async function startServer(conf: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [BIN.origin, '-c', conf], { env: GIT_ENV, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const m = /listening on (\S+)/.exec(d);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (c) => reject(new Error(`grok-origin exited ${c}`)));
  });
  return { url, child };
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}
