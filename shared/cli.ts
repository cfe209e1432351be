/**
 * What every command's entry point shares: commander set up the same way, and one place that turns
 * an error into a one-line message and an exit status. Library code never calls process.exit.
 */
import { Command, CommanderError } from 'commander';
import { describeError, isGrokError } from './errors.js';
import { fileLogger, type Logger } from './log.js';
import { safeText } from './safe-text.js';
import { packageVersion } from './version.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function newCommand(name: string, summary: string): Command {
  return new Command(name)
    .description(summary)
    .version(`${name} (grokmirror-ts) ${packageVersion()}`, '--version', 'print the version and exit')
    .helpOption('-h, --help', 'show this help and exit')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) });
}

/**
 * The hand-written parts of a command's manual page; its name, synopsis and options come from the
 * same commander definition as its --help (test/man renders them into man/<command>.1).
 */
export interface Manual {
  /** Paragraphs. */
  readonly description: readonly string[];
  readonly exitStatus: readonly string[];
  /** [path, what it is]. */
  readonly files?: readonly (readonly [string, string])[];
  /** [what it does, the command line]. */
  readonly examples: readonly (readonly [string, string])[];
  /** Other pages, as `name(section)`. */
  readonly seeAlso: readonly string[];
}

/** Collects a repeatable option's values. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  if (isGrokError(err, 'GROK_ERR_USAGE')) return EXIT_USAGE;
  return EXIT_FAILURE;
}

/**
 * Runs a command's main function and exits with its status; errors become one line on stderr.
 * The exit is explicit once main is done (logs are written synchronously): idle sockets and timers
 * of HTTP clients otherwise hold a finished one-shot command open for another ~120 ms.
 */
export function runCli(name: string, main: (argv: string[], cli: CliRun) => Promise<number>): void {
  let fileLog: Logger | null = null;
  // A one-shot command stopped by a signal says so, in its log file too (a timer's run that systemd
  // stopped, a ^C), then dies of the signal as it would have without the handler.
  const onSignal = (signal: NodeJS.Signals) => {
    const msg = `stopped by ${signal}`;
    fileLog?.fatal({ action: 'exit', signal }, msg);
    process.stderr.write(`${name}: error: ${msg}\n`);
    process.kill(process.pid, signal);
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  const cli: CliRun = {
    logTo: (log) => void (fileLog = fileLogger(log)),
    ownSignals: () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
  main(process.argv.slice(2), cli).then(
    (code) => process.exit(code),
    (err: unknown) => {
      const code = exitCodeFor(err);
      // The stable code too: the README's troubleshooting table is keyed by it.
      // Made safe: the message may quote an origin's reply or a URL with credentials (safe-text.ts).
      const line = `${describeError(err)}${isGrokError(err) ? ` [${err.code}]` : ''}`;
      if (!(err instanceof CommanderError)) {
        fileLog?.fatal({ action: 'exit', ...(isGrokError(err) ? { code: err.code } : {}) }, line);
        process.stderr.write(`${name}: error: ${safeText(line)}\n`);
      }
      if (process.env.GROK_DEBUG && err instanceof Error) process.stderr.write(`${(err.stack ?? '').split('\n').map((l) => safeText(l)).join('\n')}\n`);
      process.exit(code);
    },
  );
}

/** What a command's main function tells runCli. */
export interface CliRun {
  /** Fatal errors and signal exits go to this logger's log file too (stderr has them anyway). */
  logTo(log: Logger): void;
  /** For daemons, which stop cleanly on SIGINT and SIGTERM themselves: runCli leaves those signals alone. */
  ownSignals(): void;
}
