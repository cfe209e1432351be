/**
 * Git commands as data. Arguments that come from outside (manifest keys, remote URLs, ref names from
 * a manifest) are wrapped with `untrusted()`: they may not start with `-` (so they can never be read
 * as an option, the classic `--upload-pack=` injection) and may not hold NUL or newlines.
 */
import { GrokError } from '../errors.js';

export interface Untrusted {
  readonly untrusted: string;
}
export type GitArg = string | Untrusted;

export function untrusted(value: string): Untrusted {
  return { untrusted: value };
}

/** Subcommands this project runs; anything else is refused before a process starts. */
export const ALLOWED_SUBCOMMANDS: ReadonlySet<string> = new Set([
  'bundle',
  'cat-file',
  'clone',
  'commit-graph',
  'config',
  'count-objects',
  'fetch',
  'for-each-ref',
  'fsck',
  'init',
  'log',
  'ls-remote',
  'merge-base',
  'pack-objects',
  'pack-refs',
  'prune',
  'prune-packed',
  'remote',
  'repack',
  'rev-list',
  'rev-parse',
  'show-ref',
  'symbolic-ref',
  'update-ref',
  'upload-pack',
  'version',
]);

export interface GitCommand {
  /** Absolute path of the repository; passed as `--git-dir=`. */
  readonly gitDir?: string;
  readonly args: readonly GitArg[];
  /** Exit statuses that are answers rather than failures (e.g. 1 from `config --get` when unset). */
  readonly okExit?: readonly number[];
  readonly input?: string | Buffer;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Extra object directories to read from (GIT_ALTERNATE_OBJECT_DIRECTORIES), absolute paths. */
  readonly alternateObjectDirectories?: readonly string[];
  /** GIT_PROTOCOL for upload-pack, from a client's Git-Protocol header (e.g. "version=2"). */
  readonly protocol?: string;
  /** `-c key=value` settings for this command only (our own constants, never outside input). */
  readonly config?: Readonly<Record<string, string>>;
  /**
   * upload-pack may fetch what a partial clone lacks from its promisor remote (GIT_NO_LAZY_FETCH=0;
   * git disables it by default since 2.39.4): for a tier's own partial clones, whose promisor remote
   * is the upstream grok-pull configured, so that a next tier's partial clone can read contents.
   */
  readonly lazyFetch?: boolean;
}

const CONFIG_KEY_RE = /^[A-Za-z][A-Za-z0-9-]*(\.[^\0\n=]+)?\.[A-Za-z][A-Za-z0-9-]*$/;

// What git clients send in Git-Protocol: colon-separated key or key=value items.
const PROTOCOL_RE = /^[A-Za-z0-9._-]+(?:=[A-Za-z0-9._-]+)?(?::[A-Za-z0-9._-]+(?:=[A-Za-z0-9._-]+)?)*$/;

/** The per-command additions to the sanitised environment. */
export function commandEnv(cmd: GitCommand): Record<string, string> {
  const env: Record<string, string> = {};
  if (cmd.protocol !== undefined) {
    if (cmd.protocol.length > 256 || !PROTOCOL_RE.test(cmd.protocol)) {
      throw new GrokError('GROK_ERR_GIT_ARGUMENT', `refusing Git-Protocol value ${JSON.stringify(cmd.protocol.slice(0, 80))}`, { value: cmd.protocol });
    }
    env.GIT_PROTOCOL = cmd.protocol;
  }
  if (cmd.lazyFetch) env.GIT_NO_LAZY_FETCH = '0';
  const dirs = cmd.alternateObjectDirectories;
  if (!dirs || dirs.length === 0) return env;
  for (const d of dirs) {
    // The variable is ':'-separated and '"' starts a quoted entry; such paths are not passed this way.
    if (!d.startsWith('/') || /[:"\0\n]/.test(d)) {
      throw new GrokError('GROK_ERR_GIT_ARGUMENT', `cannot pass ${JSON.stringify(d)} as an alternate object directory`, { value: d });
    }
  }
  env.GIT_ALTERNATE_OBJECT_DIRECTORIES = dirs.join(':');
  return env;
}

export function renderArgs(cmd: GitCommand): string[] {
  const sub = cmd.args[0];
  if (typeof sub !== 'string' || !ALLOWED_SUBCOMMANDS.has(sub)) {
    throw new GrokError('GROK_ERR_GIT_SUBCOMMAND', `git subcommand ${JSON.stringify(sub)} is not on the allow-list`, { sub });
  }
  const out = ['--no-pager'];
  if (cmd.gitDir !== undefined) out.push(`--git-dir=${cmd.gitDir}`);
  for (const [k, v] of Object.entries(cmd.config ?? {})) {
    if (!CONFIG_KEY_RE.test(k) || /[\0\n]/.test(v)) throw new GrokError('GROK_ERR_GIT_ARGUMENT', `refusing config override ${JSON.stringify(k)}`, { key: k });
    out.push('-c', `${k}=${v}`);
  }
  for (const arg of cmd.args) {
    if (typeof arg === 'string') {
      out.push(arg);
      continue;
    }
    const v = arg.untrusted;
    if (v.startsWith('-') || /[\0\n\r]/.test(v) || v === '') {
      throw new GrokError('GROK_ERR_GIT_ARGUMENT', `refusing unsafe git argument ${JSON.stringify(v)}`, { value: v });
    }
    out.push(v);
  }
  return out;
}

/** Variables a hook or the caller may set that must not reach our git processes. */
const KEEP_GIT_VARS = new Set([
  'GIT_CONFIG_GLOBAL',
  'GIT_CONFIG_NOSYSTEM',
  'GIT_CONFIG_SYSTEM',
  'GIT_EXEC_PATH',
  'GIT_SSH',
  'GIT_SSH_COMMAND',
  'GIT_SSH_VARIANT',
  'GIT_TRACE',
  'GIT_TRACE_PACKET',
  'GIT_TRACE2',
  'GIT_TRACE2_EVENT',
  'GIT_CURL_VERBOSE',
]);

/**
 * The environment for git children: no inherited GIT_DIR / GIT_OBJECT_DIRECTORY / GIT_QUARANTINE_PATH /
 * GIT_CONFIG_PARAMETERS (a post-receive hook sets several of these and they would redirect our commands),
 * never a credential prompt, and C-locale messages so that stderr can be matched (fsck's error lists).
 */
export function sanitisedEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) {
    if (v === undefined) continue;
    if (k.startsWith('GIT_') && !KEEP_GIT_VARS.has(k)) continue;
    env[k] = v;
  }
  env.GIT_TERMINAL_PROMPT = '0';
  env.LC_ALL = 'C';
  env.LANGUAGE = 'C';
  return env;
}
