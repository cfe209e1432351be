/**
 * A progress line for long runs on a terminal: `grok-fsck: 120/1000 repositories, 35/s, ETA 25s`,
 * redrawn in place at most ten times a second and cleared at the end. Not on a terminal (systemd,
 * cron, pipes) it writes nothing: the structured log says what happened there.
 */
export interface Progress {
  /** `n` more done (default 1). */
  tick(n?: number): void;
  /** Clears the line. */
  end(): void;
}

export interface ProgressOptions {
  readonly label: string;
  readonly total: number;
  readonly unit?: string;
  readonly out?: { readonly isTTY?: boolean; write(s: string): unknown };
  readonly now?: () => number;
  readonly minIntervalMs?: number;
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

const NONE: Progress = { tick() {}, end() {} };

export function createProgress(o: ProgressOptions): Progress {
  const out = o.out ?? process.stderr;
  if (!out.isTTY || o.total <= 0) return NONE;
  const now = o.now ?? Date.now;
  const start = now();
  const every = o.minIntervalMs ?? 100;
  let done = 0;
  let drawn = -Infinity;
  const draw = () => {
    drawn = now();
    out.write(`\r\x1b[K${formatProgress(o.label, done, o.total, drawn - start, o.unit)}`);
  };
  return {
    tick(n = 1) {
      done += n;
      if (now() - drawn >= every || done === o.total) draw();
    },
    end() {
      out.write('\r\x1b[K');
    },
  };
}
