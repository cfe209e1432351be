/**
 * The `[core] log` file, reopened when it is rotated: on SIGHUP (what logrotate's postrotate sends,
 * see contrib/logrotate) and, for rotations that send no signal (`copytruncate` aside), when the path
 * no longer names the file we hold open (checked every few seconds). Without this a daemon keeps
 * writing into the renamed file for ever and the new one stays empty.
 */
import { fstatSync, statSync } from 'node:fs';
import { pino, type DestinationStream } from 'pino';
import { GrokError } from './errors.js';

export interface LogFile {
  readonly stream: DestinationStream;
  /** Reopens the path (a new file when the old one was moved away). */
  reopen(): void;
  /** Reopens when the path names another file than ours, or none; true when it did. */
  reopenIfMoved(): boolean;
}

type Boom = DestinationStream & { fd: number; reopen(file?: string): void };

export function openLogFile(file: string): LogFile {
  let dest: Boom;
  try {
    dest = pino.destination({ dest: file, sync: true, mkdir: false }) as unknown as Boom;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new GrokError('GROK_ERR_WRITE', `cannot open log file ${file} (${code})`, { path: file });
  }
  const reopen = () => dest.reopen();
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
      try {
        reopen();
        return true;
      } catch {
        return false; // the directory went too: keep writing where we can, try again later
      }
    },
  };
}

/**
 * Keeps a log file reopened across rotations for the life of the process: SIGHUP, and a check of the
 * path every `everyMs`. The timer does not keep the process alive.
 */
export function followRotation(log: LogFile, everyMs = 5_000): () => void {
  const onHup = () => log.reopen();
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
