/**
 * The real grokmirror 2.x beside ours: where it is (env GROKMIRROR_PEER, default ../shared/peers/grokmirror
 * relative to the project root), why it cannot run here (no python3, no folder), and its commands as
 * processes (`python3 -m grokmirror.<module>`), with its config files written the way its operators write them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/fixture.js';
import { GIT_ENV } from '../helpers/git.js';

export const PEER_DIR = path.resolve(REPO_ROOT, process.env.GROKMIRROR_PEER ?? '../shared/peers/grokmirror');

/** Why the peer cannot run here (a message naming what is missing), or null. */
export function peerMissing(): string | null {
  const py = spawnSync('python3', ['-c', 'import requests, packaging'], { encoding: 'utf8' });
  if (py.error) return 'python3 is not installed: the interop suite runs the real grokmirror with it';
  if (!existsSync(path.join(PEER_DIR, 'grokmirror', 'pull.py'))) {
    return `grokmirror is not at ${PEER_DIR} (set GROKMIRROR_PEER to its checkout)`;
  }
  if (py.status !== 0) return `python3 lacks grokmirror's modules (requests, packaging): ${py.stderr.trim().split('\n').pop() ?? ''}`;
  return null;
}

export interface PeerResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export type PeerModule = 'manifest' | 'pull' | 'fsck';

/**
 * One grokmirror command. `env` is added to the test environment; GITBIN there makes grokmirror run
 * that git instead of /usr/bin/git (grokmirror's own switch, used to slow it down with a shim).
 */
export function runPeer(module: PeerModule, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<PeerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-m', `grokmirror.${module}`, ...args], {
      env: { ...GIT_ENV, PYTHONPATH: PEER_DIR, PYTHONDONTWRITEBYTECODE: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** runPeer that must succeed; grokmirror exits 0 even when repositories failed, so its log is returned for checks. */
export async function peerOk(module: PeerModule, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<PeerResult> {
  const r = await runPeer(module, args, env);
  if (r.code !== 0) throw new Error(`grokmirror.${module} ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r;
}

export interface ConfSections {
  readonly core?: Record<string, string>;
  readonly remote?: Record<string, string>;
  readonly pull?: Record<string, string>;
  readonly fsck?: Record<string, string>;
  readonly manifest?: Record<string, string>;
  readonly origin?: Record<string, string>;
}

/** A grokmirror.conf both tools read; multi-line values as configparser continuation lines. */
export function writeConf(file: string, sections: ConfSections): string {
  const lines: string[] = [];
  for (const [name, keys] of Object.entries(sections)) {
    if (!keys) continue;
    lines.push(`[${name}]`);
    for (const [k, v] of Object.entries(keys as Record<string, string>)) lines.push(`${k} = ${v.split('\n').join('\n    ')}`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
