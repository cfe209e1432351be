/**
 * Loggers: pino everywhere (structured JSON into `[core] log`), plus short human lines on stderr for
 * the CLIs. Library code takes a `Logger` and makes child loggers with `repo` / `action` fields.
 */
import { Writable } from 'node:stream';
import { pino, type Logger, type DestinationStream, type Level } from 'pino';
import { followRotation, openLogFile } from './log-file.js';

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
        out.write(`${name}: ${prefix}${rec.msg ?? rec.err?.message ?? ''}\n`);
      } catch {
        out.write(chunk);
      }
      cb();
    },
  }) as unknown as DestinationStream;
}

export function createCliLogger(opts: CliLogOptions): Logger {
  const streams: { level: Level; stream: DestinationStream }[] = [
    { level: opts.verbose ? 'info' : 'warn', stream: humanStream(opts.name, opts.stderr ?? process.stderr) },
  ];
  if (opts.logfile) {
    const file = openLogFile(opts.logfile);
    if (opts.followRotation !== false) followRotation(file);
    streams.push({ level: pinoLevel(opts.fileLevel), stream: file.stream });
  }
  return pino({ name: opts.name, level: 'debug', base: { pid: process.pid } }, pino.multistream(streams));
}

/** The logger of a command run with a config: its [core] log file and level, and the config's warnings logged. */
export function configLogger(name: string, config: { readonly core: { readonly log: string; readonly loglevel: string }; readonly warnings: readonly string[] }, verbose: boolean): Logger {
  const log = createCliLogger({ name, verbose, ...(config.core.log ? { logfile: config.core.log } : {}), fileLevel: config.core.loglevel });
  for (const w of config.warnings) log.warn(w);
  return log;
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
