/**
 * Prometheus metrics for grok-pull -o, in a registry of their own (no global state), read from the
 * tracker's snapshot at scrape time: the tracker keeps the counts, so nothing is counted twice.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { StatusSnapshot, StatusTracker } from './tracker.js';

export interface StatusMetrics {
  readonly registry: Registry;
  /** The metrics in Prometheus' text format, from one snapshot. */
  scrape(): Promise<string>;
}

export function statusMetrics(tracker: StatusTracker): StatusMetrics {
  const registry = new Registry();
  // One snapshot per scrape, shared by every metric's collect(); outside a scrape each takes its own.
  let snap: StatusSnapshot | null = null;
  const read = () => snap ?? tracker.snapshot();
  const gauge = (name: string, help: string, value: (s: StatusSnapshot) => number) =>
    new Gauge({ name, help, registers: [registry], collect() { this.set(value(read())); } });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[], values: (s: StatusSnapshot) => [Record<L, string>, number][]) =>
    new Counter<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, n] of values(read())) this.inc(labels as Partial<Record<L, string | number>>, n);
      },
    });

  gauge('grokmirror_replica_repos', 'Repositories this replica holds (its local manifest)', (s) => s.repos ?? 0);
  gauge('grokmirror_replica_failing_repos', 'Repositories whose last update failed', (s) => s.failing_repos);
  gauge('grokmirror_replica_lag_seconds', 'Seconds since the oldest known origin change not yet applied; 0 when in sync', (s) => s.lag_seconds);
  gauge('grokmirror_replica_since_full_pass_seconds', 'Seconds since the last full pass completed (or since start)', (s) => s.since_full_pass_seconds);
  gauge('grokmirror_replica_last_manifest_check_timestamp_seconds', 'When the remote manifest was last checked, whatever the result; 0: not yet', (s) => s.last_manifest_check?.at ?? 0);
  gauge('grokmirror_replica_queue_depth', 'Feed and socket notices waiting for the work loop', (s) => s.queue);
  gauge('grokmirror_replica_pass_running', '1 while a pass is running', (s) => (s.working ? 1 : 0));
  counter('grokmirror_replica_fetched_bytes_total', 'Object bytes (packs and loose objects) added by clones and fetches', [], (s) => [[{}, s.bytes_fetched]]);
  counter('grokmirror_replica_downloaded_bytes_total', 'Bytes downloaded besides git: whole manifests (what=manifest) and the change feed (what=feed)', ['what'], (s) =>
    Object.entries(s.bytes_downloaded).map(([what, n]) => [{ what }, n]),
  );
  counter('grokmirror_replica_manifest_checks_total', 'Remote manifest checks by result', ['result'], (s) =>
    Object.entries(s.manifest_checks).map(([result, n]) => [{ result }, n]),
  );
  counter('grokmirror_replica_passes_total', 'Passes by kind (full: manifest read; targeted: feed or socket notices) and result', ['kind', 'result'], (s) =>
    Object.entries(s.passes).flatMap(([kind, byResult]) => Object.entries(byResult).map(([result, n]): [Record<'kind' | 'result', string>, number] => [{ kind, result }, n])),
  );
  counter('grokmirror_replica_repo_updates_total', 'Repositories worked on, by result', ['result'], (s) => Object.entries(s.repo_updates).map(([result, n]) => [{ result }, n]));

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
