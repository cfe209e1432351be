/**
 * public-inbox's own commands (public-inbox-init, -index, -extindex), run with PI_CONFIG pointing at
 * the config grok-pi-indexer was given. Their environment is ours without GIT_* variables (a hook may
 * inherit GIT_DIR and friends, which would redirect public-inbox's git processes).
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { GrokError } from '../../shared/errors.js';

const MAX_STDERR = 64 * 1024;

export function piEnv(piConfig: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined && !k.startsWith('GIT_')) env[k] = v;
  env.PI_CONFIG = piConfig;
  return env;
}

function onPath(tool: string, env: NodeJS.ProcessEnv): boolean {
  return (env.PATH ?? '').split(':').some((dir) => {
    try {
      accessSync(path.join(dir || '.', tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** A one-line error naming the first missing command, before anything is done. */
export function requireTools(tools: readonly string[], env: NodeJS.ProcessEnv): void {
  const missing = tools.find((t) => !onPath(t, env));
  if (missing) {
    throw new GrokError('GROK_ERR_PI_TOOL', `${missing} not found in PATH: install public-inbox 1.6 or later (Debian: apt-get install public-inbox)`, { tool: missing });
  }
}

export interface ToolOutcome {
  readonly ok: boolean;
  /** "exit N", "killed by SIGX", or why it could not start. */
  readonly status: string;
  readonly stderr: string;
}

export function runTool(tool: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<ToolOutcome> {
  return new Promise((resolve) => {
    const child = spawn(tool, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-MAX_STDERR);
    });
    child.on('error', (err) => resolve({ ok: false, status: err.message, stderr }));
    child.on('close', (code, signal) => resolve({ ok: code === 0, status: signal ? `killed by ${signal}` : `exit ${code}`, stderr: stderr.trim() }));
  });
}

/** The last line public-inbox wrote to stderr, for a one-line report. */
export function lastLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}
