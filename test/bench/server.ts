/** Starting and stopping grok-origin as its own process for the benchmarks. */
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN } from '../helpers/fixture.js';
import { GIT_ENV } from '../helpers/git.js';

/** `checked`: performance.now() when the server logged that every manifest entry was checked. */
export async function startServer(conf: string): Promise<{ url: string; child: ChildProcess; checked: Promise<number> }> {
  const child = spawn(process.execPath, [BIN.origin, '-c', conf], { env: GIT_ENV, stdio: ['ignore', 'pipe', 'inherit'] });
  let checkedAt: (t: number) => void = () => {};
  const checked = new Promise<number>((r) => (checkedAt = r));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const m = /listening on (\S+)/.exec(d);
      if (m) resolve(m[1]!);
      if (d.includes('every manifest entry checked')) checkedAt(performance.now());
    });
    child.on('exit', (c) => reject(new Error(`grok-origin exited ${c}`)));
  });
  return { url, child, checked };
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}
