/**
 * /healthz for grok-pull -o: whether the daemon is alive and its work loop on schedule, for a load
 * balancer, a watchdog or a blackbox probe. An answer at all means the process and its event loop
 * live; the status says whether the loop still checks the origin's manifest as `refresh` asks:
 * - ok (200): a pass is running, or the last manifest check (whatever its result) is at most
 *   `refresh` and a grace old;
 * - starting (200): no check yet, and the daemon started less than that long ago;
 * - fsck (200): grok-fsck runs from fsck_cron (passes wait for it) and the manifest checks, which go on
 *   meanwhile, are on schedule as for ok (or, before the first, as for starting): an fsck that takes
 *   hours is work, not a stuck loop; how long it may take is for an alert on /metrics;
 * - stale (503): no check for longer: the loop is stuck.
 * An unreachable origin or failing repositories leave it ok: the daemon does its part; they are for
 * the alerts on /metrics (lag, failing repositories), which say what is wrong where this cannot.
 */
import type { StatusSnapshot } from './tracker.js';

/** How far past `refresh` a manifest check may be before the loop counts as stuck. */
export const HEALTH_GRACE_SECONDS = 300;

export interface Health {
  readonly status: 'ok' | 'starting' | 'fsck' | 'stale';
  readonly pid: number | null;
  readonly version: string | null;
  readonly uptime_seconds: number;
  readonly working: boolean;
  readonly last_manifest_check: { readonly status: string; readonly age_seconds: number } | null;
  readonly last_pass: { readonly kind: string; readonly status: string; readonly age_seconds: number } | null;
  readonly lag_seconds: number;
  readonly failing_repos: number;
  readonly feed: StatusSnapshot['feed'];
  readonly fsck: { readonly since: number; readonly running_seconds: number } | null;
  readonly last_fsck: { readonly status: string; readonly errors: number; readonly seconds: number; readonly age_seconds: number } | null;
}

export function health(s: StatusSnapshot): { code: 200 | 503; body: Health } {
  const limit = s.refresh_seconds + HEALTH_GRACE_SECONDS;
  const check = s.last_manifest_check;
  const onTime: Health['status'] = s.working || (check && s.now - check.at <= limit) ? 'ok' : !check && s.now - s.started_at <= limit ? 'starting' : 'stale';
  const status = onTime !== 'stale' && s.fsck && !s.working ? 'fsck' : onTime;
  const age = (at: number) => Math.max(0, s.now - at);
  const last = s.last_fsck;
  return {
    code: status === 'stale' ? 503 : 200,
    body: {
      status,
      pid: s.about?.pid ?? null,
      version: s.about?.version ?? null,
      uptime_seconds: age(s.started_at),
      working: s.working !== null,
      last_manifest_check: check ? { status: check.status, age_seconds: age(check.at) } : null,
      last_pass: s.last_pass ? { kind: s.last_pass.kind, status: s.last_pass.status, age_seconds: age(s.last_pass.at) } : null,
      lag_seconds: s.lag_seconds,
      failing_repos: s.failing_repos,
      feed: s.feed,
      fsck: s.fsck ? { since: s.fsck.since, running_seconds: age(s.fsck.since) } : null,
      last_fsck: last ? { status: last.status, errors: last.errors, seconds: last.seconds, age_seconds: age(last.at) } : null,
    },
  };
}
