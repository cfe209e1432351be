/**
 * The real grokmirror 2.x beside ours: where it is (env GROKMIRROR_PEER, default ../shared/peers/grokmirror
 * relative to the project root), why it cannot run here (no python3, no folder), and its commands as
 * processes (`python3 -m grokmirror.<module>`), with its config files written the way its operators write them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runProcess, type CliResult } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/fixture.js';
import { tmpDir } from '../helpers/tmp.js';
import { makeOddCollection, type OddCollection } from './collection.js';
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

export type PeerResult = CliResult;

export type PeerModule = 'manifest' | 'pull' | 'fsck';

/**
 * One grokmirror command. `env` is added to the test environment; GITBIN there makes grokmirror run
 * that git instead of /usr/bin/git (grokmirror's own switch, used to slow it down with a shim).
 */
export function runPeer(module: PeerModule, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<PeerResult> {
  return runProcess('python3', ['-m', `grokmirror.${module}`, ...args], { env: { ...GIT_ENV, PYTHONPATH: PEER_DIR, PYTHONDONTWRITEBYTECODE: '1', ...env } });
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

/**
 * One of our commands as a process, without tap's loaders (the suite starts dozens of them): tap puts
 * its --import back into NODE_OPTIONS on every spawn, so `env -u` drops it in between.
 */
export function runOurs(bin: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runProcess('env', ['-u', 'NODE_OPTIONS', process.execPath, bin, ...args], { env: { ...GIT_ENV, ...env } });
}

interface Plan {
  plan(n: number, reason: string): void;
  teardown(fn: () => void | Promise<void>): void;
}

/**
 * How every interop file starts: when the peer cannot run here, the file is skipped with a message
 * naming what is missing (null); otherwise a temp directory with the collection built in <dir>/origin.
 */
export function interopSuite(t: Plan): { readonly dir: string; readonly c: OddCollection } | null {
  const missing = peerMissing();
  if (missing) {
    t.plan(0, `skipped: ${missing}`);
    return null;
  }
  const dir = tmpDir(t);
  return { dir, c: makeOddCollection(path.join(dir, 'origin')) };
}

/**
 * A replica's toplevel `<dir>/<name>` and its config `<dir>/<name>.conf` (read by both tools), mirroring
 * `site` from `manifest`; `more` adds sections and keys ([core] keys beside toplevel and manifest).
 */
export function replicaConf(dir: string, name: string, remote: { site: string; manifest: string }, more: ConfSections = {}): { top: string; conf: string } {
  const top = path.join(dir, name);
  const conf = writeConf(path.join(dir, `${name}.conf`), {
    ...more,
    core: { toplevel: top, manifest: path.join(top, 'manifest.js.gz'), ...more.core },
    remote,
  });
  return { top, conf };
}
