/**
 * Bounds on a download from the origin: a minimum rate (fewer than `lowSpeedLimit` bytes per second
 * over a window of `lowSpeedTimeMs`, headers included, and it is given up, as curl's and git's
 * http.lowSpeedLimit / http.lowSpeedTime do) and a deadline for the whole transfer. undici's own
 * body timeout restarts with every chunk, so a server dripping a few bytes a minute would hold a
 * pass (and any lock taken for it) for as long as it likes. The limits come from `[remote]`, so an
 * operator can widen them for a slow link and a test can narrow them to seconds.
 */
import type { RemoteConfig } from '../../shared/config/schema.js';

export interface RateLimit {
  /** Bytes per second; 0: no minimum. */
  readonly lowSpeedLimit: number;
  readonly lowSpeedTimeMs: number;
}

export interface TransferSettings {
  readonly rate: RateLimit;
  /** Fetching the manifest, all attempts and the waits between them included. */
  readonly manifestTimeoutMs: number;
  /** One git clone or fetch. */
  readonly gitTimeoutMs: number;
  readonly preloadTimeoutMs: number;
  readonly preloadMaxBytes: number;
}

export function transferSettings(remote: RemoteConfig): TransferSettings {
  return {
    rate: { lowSpeedLimit: remote.low_speed_limit, lowSpeedTimeMs: remote.low_speed_time * 1000 },
    manifestTimeoutMs: remote.manifest_timeout * 1000,
    gitTimeoutMs: remote.git_timeout * 1000,
    preloadTimeoutMs: remote.preload_bundle_timeout * 1000,
    preloadMaxBytes: remote.preload_bundle_max_size,
  };
}

/** The same minimum for git over http(s), as `-c` settings of a clone or fetch (ssh and git:// have none). */
export function gitRateConfig(rate: RateLimit): Record<string, string> {
  if (rate.lowSpeedLimit === 0) return {};
  return { 'http.lowSpeedLimit': String(rate.lowSpeedLimit), 'http.lowSpeedTime': String(Math.max(1, Math.round(rate.lowSpeedTimeMs / 1000))) };
}

/**
 * Watches one transfer: `signal` aborts the request when the rate falls below the minimum over a
 * window or the deadline passes, and `failure` then says which (naming the config keys to change).
 * `count()` every chunk received; `stop()` when done, whatever happened.
 */
export class TransferGuard {
  readonly signal: AbortSignal;
  private reason: string | null = null;
  private got = 0;
  private readonly ac = new AbortController();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(rate: RateLimit, timeoutMs: number, timeoutKey: string) {
    this.signal = this.ac.signal;
    const secs = (ms: number) => `${Math.round(ms / 100) / 10} s`;
    this.timers.push(setTimeout(() => this.fail(`not done after ${secs(timeoutMs)} ([remote] ${timeoutKey})`), Math.max(0, timeoutMs)));
    if (rate.lowSpeedLimit > 0) {
      const floor = (rate.lowSpeedLimit * rate.lowSpeedTimeMs) / 1000;
      this.timers.push(
        setInterval(() => {
          if (this.got < floor) this.fail(`fewer than ${rate.lowSpeedLimit} bytes/s for ${secs(rate.lowSpeedTimeMs)} (${this.got} bytes; [remote] low_speed_limit, low_speed_time)`);
          this.got = 0;
        }, rate.lowSpeedTimeMs),
      );
    }
  }

  count(bytes: number): void {
    this.got += bytes;
  }

  /** Why the guard stopped the transfer; null when it did not. */
  get failure(): string | null {
    return this.reason;
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
  }

  private fail(why: string): void {
    if (this.reason !== null) return;
    this.reason = why;
    this.stop();
    this.ac.abort(new Error(why));
  }
}
