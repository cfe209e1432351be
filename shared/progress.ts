/**
 * A progress line for long runs: `grok-fsck: 120/1000 repositories, 35/s, ETA 25s`. On a terminal it
 * is redrawn in place at most ten times a second, and ends as a summary line that stays on the screen
 * (`grok-pull: 1000/1000 repositories, 40/s, in 25s`). With -v (`lines`) it is written as lines of
 * their own, among the log's, at most every few seconds, terminal or not: a verbose run under a
 * pipe or systemd shows how far it got too. Otherwise, not on a terminal (systemd, cron, pipes), it
 * writes nothing: the structured log says what happened there.
 */
export interface Progress {
  /** `n` more done (default 1). */
  tick(n?: number): void;
  /** Leaves the summary line. */
  end(): void;
}

export interface ProgressOptions {
  readonly label: string;
  readonly total: number;
  readonly unit?: string;
  readonly out?: { readonly isTTY?: boolean; write(s: string): unknown };
  readonly now?: () => number;
  readonly minIntervalMs?: number;
  /** -v: whole lines, on any output, at most every `minIntervalMs` (default 5 s). */
  readonly lines?: boolean;
}

function duration(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  if (sec < 60) return `${Math.ceil(sec)}s`;
  if (sec < 3600) return `${Math.floor(sec / 60)}m${String(Math.ceil(sec % 60)).padStart(2, '0')}s`;
  return `${Math.floor(sec / 3600)}h${String(Math.floor((sec % 3600) / 60)).padStart(2, '0')}m`;
}

/** Pure: the line for `done` of `total` after `elapsedMs`. */
export function formatProgress(label: string, done: number, total: number, elapsedMs: number, unit = 'repositories'): string {
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const rateText = rate >= 10 ? rate.toFixed(0) : rate.toFixed(1);
  const eta = done > 0 && rate > 0 ? `, ETA ${duration((total - done) / rate)}` : '';
  return `${label}: ${done}/${total} ${unit}, ${rateText}/s${done < total ? eta : ''}`;
}

/** Pure: the line a finished run leaves: how many of how many, and how long it took. */
export function formatProgressEnd(label: string, done: number, total: number, elapsedMs: number, unit = 'repositories'): string {
  return `${formatProgress(label, done, total, elapsedMs, unit)}, in ${duration(elapsedMs / 1000)}`;
}

const NONE: Progress = { tick() {}, end() {} };

export function createProgress(o: ProgressOptions): Progress {
  const out = o.out ?? process.stderr;
  const lines = o.lines === true;
  if ((!out.isTTY && !lines) || o.total <= 0) return NONE;
  const now = o.now ?? Date.now;
  const start = now();
  const every = o.minIntervalMs ?? (lines ? 5000 : 100);
  const [before, after] = lines ? ['', '\n'] : ['\r\x1b[K', ''];
  let done = 0;
  let drawn = lines ? start : -Infinity;
  let ended = false;
  const draw = () => {
    drawn = now();
    out.write(`${before}${formatProgress(o.label, done, o.total, drawn - start, o.unit)}${after}`);
  };
  return {
    tick(n = 1) {
      done += n;
      if (now() - drawn >= every || (!lines && done === o.total)) draw();
    },
    end() {
      if (ended) return;
      ended = true;
      out.write(`${before}${formatProgressEnd(o.label, done, o.total, now() - start, o.unit)}\n`);
    },
  };
}
