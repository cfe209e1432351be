/**
 * The `[core] log` file, reopened when it is rotated: on SIGHUP (what logrotate's postrotate sends,
 * see contrib/logrotate) and, for rotations that send no signal (`copytruncate` aside), when the path
 * no longer names the file we hold open (checked every few seconds). Without this a daemon keeps
 * writing into the renamed file for ever and the new one stays empty.
 *
 * A reopen that fails (the new file belongs to a user we do not run as: EACCES) never ends the
 * process: the old descriptor is kept, one line says so on stderr, and the periodic check tries
 * again until the path can be opened (then one line says that too).
 */
import { closeSync, fstatSync, openSync, statSync } from 'node:fs';
import { pino, type DestinationStream } from 'pino';
import { GrokError } from './errors.js';

export interface LogFile {
  readonly stream: DestinationStream;
  /** Reopens the path (a new file when the old one was moved away); false when it cannot, reported once. */
  reopen(): boolean;
  /** Reopens when the path names another file than ours, or none; true when it did. */
  reopenIfMoved(): boolean;
}

export interface LogFileOptions {
  /** Where a failed reopen is reported (the log file itself may be what fails): a line on stderr. */
  readonly warn?: (message: string) => void;
}

type Boom = DestinationStream & { fd: number; reopen(file?: string): void };

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

export function openLogFile(file: string, opts: LogFileOptions = {}): LogFile {
  let dest: Boom;
  try {
    dest = pino.destination({ dest: file, sync: true, mkdir: false }) as unknown as Boom;
  } catch (err) {
    throw new GrokError('GROK_ERR_WRITE', `cannot open log file ${file} (${errCode(err)})`, { path: file });
  }
  const warn = opts.warn ?? ((m: string) => void process.stderr.write(`${m}\n`));
  let failing: string | null = null;
  const reopen = (): boolean => {
    try {
      // Opened here first: a failed open inside pino's destination throws from a signal handler
      // (the process ends) and leaves a listener behind that later closes the old descriptor again.
      closeSync(openSync(file, 'a'));
      dest.reopen();
    } catch (err) {
      const code = errCode(err);
      if (failing !== code) warn(`cannot reopen log file ${file} (${code}): still writing to the file held open; retrying`);
      failing = code;
      return false;
    }
    if (failing !== null) warn(`log file ${file} reopened`);
    failing = null;
    return true;
  };
  return {
    stream: dest,
    reopen,
    reopenIfMoved() {
      const onDisk = statSync(file, { throwIfNoEntry: false });
      let held: number;
      try {
        held = fstatSync(dest.fd).ino;
      } catch {
        return false;
      }
      if (onDisk && onDisk.ino === held) return false;
      return reopen();
    },
  };
}

/**
 * Keeps a log file reopened across rotations for the life of the process: SIGHUP, and a check of the
 * path every `everyMs` (which is also the retry after a failed reopen). The timer does not keep the
 * process alive.
 */
export function followRotation(log: LogFile, everyMs = 5_000): () => void {
  const onHup = () => void log.reopen();
  process.on('SIGHUP', onHup);
  const timer = setInterval(() => log.reopenIfMoved(), everyMs);
  timer.unref();
  return () => {
    process.off('SIGHUP', onHup);
    clearInterval(timer);
  };
}

/**
 * For daemons: a SIGHUP never ends them. Node's default for SIGHUP is to exit (quietly, which systemd
 * counts as clean, so Restart=on-failure would not bring the daemon back), and logrotate's postrotate
 * sends one to every daemon, including those that log only to the journal and have no file to reopen.
 */
export function surviveHangup(): void {
  process.on('SIGHUP', () => {});
}
