/** Starting and stopping grok-origin as its own process for the benchmarks. */
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN } from '../helpers/fixture.js';
import { GIT_ENV } from '../helpers/git.js';

export async function startServer(conf: string): Promise<{ url: string; child: ChildProcess }> {
  return startListening([BIN.origin, '-c', conf]);
}

/** A node script of ours that prints "listening on <url>" once it serves. */
export async function startListening(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, args, { env: GIT_ENV, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const m = /listening on (\S+)/.exec(d);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (c) => reject(new Error(`${args[0]} exited ${c}`)));
  });
  return { url, child };
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}
