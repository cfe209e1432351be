/**
 * Every failure the project reports has a stable code from this table (the fastify `FST_ERR_*` idea):
 * callers branch on `code`, never on message text, and CLI entry points map codes to exit statuses.
 */
export const ERROR_CODES = {
  GROK_ERR_USAGE: 'bad command-line usage',
  GROK_ERR_CONFIG_NOT_FOUND: 'config file not found',
  GROK_ERR_CONFIG_SYNTAX: 'config file syntax error',
  GROK_ERR_CONFIG_INTERPOLATION: 'config interpolation error',
  GROK_ERR_CONFIG_VALUE: 'invalid config value',
  GROK_ERR_CONFIG_MISSING: 'required config value missing',
  GROK_ERR_MANIFEST_PARSE: 'manifest is not valid JSON',
  GROK_ERR_MANIFEST_FETCH: 'manifest could not be fetched',
  GROK_ERR_STATUS_FILE: 'fsck status file unusable',
  GROK_ERR_MANIFEST_SHAPE: 'manifest has the wrong shape',
  GROK_ERR_MANIFEST_TOO_LARGE: 'manifest exceeds the size cap',
  GROK_ERR_MANIFEST_GZIP: 'manifest is not valid gzip',
  GROK_ERR_MANIFEST_KEY: 'unsafe manifest key',
  GROK_ERR_MANIFEST_DIR: 'manifest directory missing',
  GROK_ERR_GIT_FAILED: 'git command failed',
  GROK_ERR_GIT_ARGUMENT: 'unsafe git argument',
  GROK_ERR_GIT_SUBCOMMAND: 'git subcommand not allowed',
  GROK_ERR_GIT_SPAWN: 'git could not be started',
  GROK_ERR_NOT_A_REPO: 'not a bare git repository',
  GROK_ERR_OUTSIDE_TOPLEVEL: 'path is outside the toplevel',
  GROK_ERR_TOPLEVEL: 'toplevel missing or unusable',
  GROK_ERR_OTHER_USER: "running as root on another user's toplevel",
  GROK_ERR_LOCK: 'lock could not be taken',
  GROK_ERR_STOPPED: 'stopped while waiting for a lock',
  GROK_ERR_ALREADY_RUNNING: 'a daemon already runs for this toplevel',
  GROK_ERR_WRITE: 'file could not be written',
  GROK_ERR_BUNDLE: 'preload bundle unusable',
  GROK_ERR_MAIL: 'report mail could not be sent',
  GROK_ERR_LISTEN: 'address to listen on unusable',
  GROK_ERR_PI_TOOL: 'public-inbox command not found',
  GROK_ERR_PI_FAILED: 'public-inbox command failed',
  GROK_ERR_PIPE: 'pipe command failed',
  GROK_ERR_PI_STATE: 'pi-piper state file unusable',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class GrokError extends Error {
  readonly code: ErrorCode;
  readonly data: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GrokError';
    this.code = code;
    this.data = Object.freeze({ ...data });
  }
}

export function isGrokError(err: unknown, code?: ErrorCode): err is GrokError {
  return err instanceof GrokError && (code === undefined || err.code === code);
}

/** A short, one-line description of any thrown value, for logs and CLI output. */
export function describeError(err: unknown): string {
  if (err instanceof GrokError) return err.message;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
