/**
 * Loggers: pino everywhere (structured JSON into `[core] log`), plus short human lines on stderr for
 * the CLIs. Library code takes a `Logger` and makes child loggers with `repo` / `action` fields.
 */
import { Writable } from 'node:stream';
import { pino, type Logger, type DestinationStream, type Level } from 'pino';
import { followRotation, openLogFile } from './log-file.js';
import { redactUrls, safeText } from './safe-text.js';

export type { Logger };

export interface CliLogOptions {
  readonly name: string;
  /** -v: info on stderr; otherwise warnings and errors only. */
  readonly verbose?: boolean;
  readonly logfile?: string;
  /** Level for the log file ([core] loglevel). */
  readonly fileLevel?: string;
  readonly stderr?: NodeJS.WritableStream;
  /** Reopen the log file on SIGHUP and when it is rotated away (default: yes). */
  readonly followRotation?: boolean;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warning', 50: 'error', 60: 'critical' };

export function pinoLevel(level: string | undefined): Level {
  switch ((level ?? 'info').toLowerCase()) {
    case 'debug':
      return 'debug';
    case 'warning':
    case 'warn':
      return 'warn';
    case 'error':
      return 'error';
    case 'critical':
      return 'fatal';
    default:
      return 'info';
  }
}

/** Formats pino JSON lines as `grok-manifest: warning: message` for people. */
export function humanStream(name: string, out: NodeJS.WritableStream): DestinationStream {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      try {
        const rec = JSON.parse(chunk.toString('utf8')) as { level: number; msg?: string; err?: { message?: string } };
        const level = LEVEL_NAMES[rec.level] ?? 'info';
        const prefix = level === 'info' || level === 'debug' ? '' : `${level}: `;
        out.write(`${name}: ${prefix}${safeText(rec.msg ?? rec.err?.message ?? '')}\n`);
      } catch {
        out.write(`${safeText(chunk.toString('utf8').replace(/\n$/, ''))}\n`);
      }
      cb();
    },
  }) as unknown as DestinationStream;
}

export function createCliLogger(opts: CliLogOptions): Logger {
  const streams: { level: Level; stream: DestinationStream }[] = [
    { level: opts.verbose ? 'info' : 'warn', stream: humanStream(opts.name, opts.stderr ?? process.stderr) },
  ];
  const settings = { name: opts.name, level: 'debug', base: { pid: process.pid }, hooks: SAFE_HOOKS, formatters: SAFE_FORMATTERS };
  let fileOnly: Logger | null = null;
  if (opts.logfile) {
    const stderr = opts.stderr ?? process.stderr;
    const file = openLogFile(opts.logfile, { warn: (m) => void stderr.write(`${opts.name}: warning: ${safeText(m)}\n`) });
    if (opts.followRotation !== false) followRotation(file);
    streams.push({ level: pinoLevel(opts.fileLevel), stream: file.stream });
    fileOnly = pino(settings, file.stream);
  }
  const log = pino(settings, pino.multistream(streams));
  if (fileOnly) FILE_ONLY.set(log, fileOnly);
  return log;
}

const FILE_ONLY = new WeakMap<Logger, Logger>();

/**
 * The same log file without stderr, for what the command already said on stderr its own way (a fatal
 * error's one line with its code, runCli): null without a log file.
 */
export function fileLogger(log: Logger): Logger | null {
  return FILE_ONLY.get(log) ?? null;
}

/** Fields (`repo` holds a manifest key, which may hold a C1 control) made safe as messages are. */
function safeFields(obj: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | null = null;
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v !== 'string') continue;
    const safe = safeText(v);
    if (safe !== v) (out ??= { ...obj })[k] = safe;
  }
  return out ?? obj;
}

export const SAFE_FORMATTERS = { log: safeFields, bindings: safeFields };

/**
 * Every message is made safe where it is logged (safe-text.ts): messages quote what origins, remotes
 * and URL lists said, and a log line is read on a terminal (`jq -r` prints what JSON escaped). Fields
 * get the same (SAFE_FORMATTERS); the whole JSON line has URL credentials redacted once more, for
 * nested fields and serialised errors (a GrokError's data may hold a URL).
 */
export const SAFE_HOOKS = {
  logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void): void {
    method.apply(this, args.map((a) => (typeof a === 'string' ? safeText(a) : a)));
  },
  streamWrite: redactUrls,
};

/** The logger of a command run with a config: its [core] log file and level, and the config's warnings logged. */
export function configLogger(name: string, config: { readonly core: { readonly log: string; readonly loglevel: string }; readonly warnings: readonly string[] }, verbose: boolean): Logger {
  const log = createCliLogger({ name, verbose, ...(config.core.log ? { logfile: config.core.log } : {}), fileLevel: config.core.loglevel });
  for (const w of config.warnings) log.warn(w);
  return log;
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
