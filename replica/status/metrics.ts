/**
 * Prometheus metrics for grok-pull -o, in a registry of their own (no global state), read from the
 * tracker's snapshot at scrape time: the tracker keeps the counts, so nothing is counted twice.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { commonMetrics, METRIC_PREFIX } from '../../shared/metrics.js';
import type { StatusSnapshot, StatusTracker } from './tracker.js';

export interface StatusMetrics {
  readonly registry: Registry;
  /** The metrics in Prometheus' text format, from one snapshot. */
  scrape(): Promise<string>;
}

export function statusMetrics(tracker: StatusTracker): StatusMetrics {
  const registry = new Registry();
  commonMetrics(registry, 'replica');
  const prefixed = (n: string) => `${METRIC_PREFIX}replica_${n}`;
  // One snapshot per scrape, shared by every metric's collect(); outside a scrape each takes its own.
  let snap: StatusSnapshot | null = null;
  const read = () => snap ?? tracker.snapshot();
  const gauge = (name: string, help: string, value: (s: StatusSnapshot) => number) =>
    new Gauge({ name: prefixed(name), help, registers: [registry], collect() { this.set(value(read())); } });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[], values: (s: StatusSnapshot) => [Record<L, string>, number][]) =>
    new Counter<L>({
      name: prefixed(name),
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, n] of values(read())) this.inc(labels as Partial<Record<L, string | number>>, n);
      },
    });

  gauge('repos', 'Repositories this replica holds (its local manifest)', (s) => s.repos ?? 0);
  gauge('failing_repos', 'Repositories whose last update failed', (s) => s.failing_repos);
  gauge('failing_seconds', 'Seconds since the oldest failure among the repositories failing now (they fall behind from then); 0 when none fails', (s) => (s.failing_since === null ? 0 : Math.max(0, s.now - s.failing_since)));
  gauge('lag_seconds', 'Seconds since the oldest known origin change not yet applied; 0 when in sync', (s) => s.lag_seconds);
  gauge('since_full_pass_seconds', 'Seconds since the last full pass completed (or since start)', (s) => s.since_full_pass_seconds);
  gauge('last_manifest_check_timestamp_seconds', 'When the remote manifest was last checked, whatever the result; 0: not yet', (s) => s.last_manifest_check?.at ?? 0);
  gauge('refresh_seconds', 'The full-pass interval ([pull] refresh): a manifest check older than this and a grace is stale', (s) => s.refresh_seconds);
  gauge('queue_depth', 'Feed and socket notices waiting for the work loop', (s) => s.queue);
  gauge('last_pass_timestamp_seconds', 'When the last pass (full or notice) ended, whatever the result; 0: not yet', (s) => s.last_pass?.at ?? 0);
  gauge('pass_running', '1 while a pass is running', (s) => (s.working ? 1 : 0));
  gauge('fsck_running', '1 while grok-fsck runs from fsck_cron (passes wait for it; manifest checks go on)', (s) => (s.fsck ? 1 : 0));
  gauge('fsck_running_seconds', 'How long the running fsck_cron grok-fsck has run; 0 when none runs', (s) => (s.fsck ? Math.max(0, s.now - s.fsck.since) : 0));
  gauge('last_fsck_timestamp_seconds', 'When the last fsck_cron grok-fsck ended, whatever the result; 0: not yet', (s) => s.last_fsck?.at ?? 0);
  gauge('last_fsck_errors', 'Repositories the last fsck_cron grok-fsck found with errors (their findings: grokmirror.fsck.err)', (s) => s.last_fsck?.errors ?? 0);
  gauge('last_fsck_duration_seconds', 'How long the last fsck_cron grok-fsck ran; 0: not yet', (s) => s.last_fsck?.seconds ?? 0);
  counter('fetched_bytes_total', 'Object bytes (packs and loose objects) added by clones and fetches', [], (s) => [[{}, s.bytes_fetched]]);
  counter('downloaded_bytes_total', 'Bytes downloaded besides git: whole manifests (what=manifest) and the change feed (what=feed)', ['what'], (s) =>
    Object.entries(s.bytes_downloaded).map(([what, n]) => [{ what }, n]),
  );
  counter('manifest_checks_total', 'Remote manifest checks by result', ['result'], (s) =>
    Object.entries(s.manifest_checks).map(([result, n]) => [{ result }, n]),
  );
  counter('passes_total', 'Passes by kind (full: manifest read; targeted: feed or socket notices) and result', ['kind', 'result'], (s) =>
    Object.entries(s.passes).flatMap(([kind, byResult]) => Object.entries(byResult).map(([result, n]): [Record<'kind' | 'result', string>, number] => [{ kind, result }, n])),
  );
  counter('fsck_runs_total', 'fsck_cron runs of grok-fsck by result (done; busy: another grok-fsck held the lock; failed)', ['result'], (s) =>
    Object.entries(s.fsck_runs).map(([result, n]) => [{ result }, n]),
  );
  counter('repo_updates_total', 'Repositories worked on, by result', ['result'], (s) => Object.entries(s.repo_updates).map(([result, n]) => [{ result }, n]));

  return {
    registry,
    async scrape() {
      snap = tracker.snapshot();
      try {
        return await registry.metrics();
      } finally {
        snap = null;
      }
    },
  };
}
