/**
 * Prometheus metrics for grok-origin, in a registry of their own (no global state). The store and the
 * queues keep the counts; the metrics read them at scrape time, so nothing is counted twice.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { commonMetrics, METRIC_PREFIX } from '../../shared/metrics.js';
import type { EventLog } from './event-log.js';
import type { ManifestStore } from './manifest-store.js';
import type { NotifyQueue } from './notify-queue.js';
import type { Semaphore } from './semaphore.js';

export interface OriginMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly notifySeconds: Histogram;
}

export function originMetrics(parts: { store: ManifestStore; events: EventLog; queue: NotifyQueue; uploads: Semaphore }): OriginMetrics {
  const registry = new Registry();
  commonMetrics(registry, 'origin');
  const name = (n: string) => `${METRIC_PREFIX}origin_${n}`;
  const requests = new Counter({ name: name('http_requests_total'), help: 'HTTP requests answered', labelNames: ['route', 'method', 'status'], registers: [registry] });
  const notifySeconds = new Histogram({
    name: name('notify_seconds'),
    help: 'Time from a notice arriving to its manifest write being on disk (notices answered 200)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const gauge = (n: string, help: string, read: () => number) =>
    new Gauge({ name: name(n), help, registers: [registry], collect() { this.set(read()); } });
  new Counter({
    name: name('manifest_writes_total'),
    help: 'Manifest writes since start',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(parts.store.writeCount);
    },
  });
  gauge('manifest_entries', 'Repositories in the manifest', () => parts.store.size);
  gauge('manifest_last_write_timestamp_seconds', 'When the manifest was last written', () => parts.store.lastWriteMs / 1000);
  gauge('notify_queue', 'Notices being handled', () => parts.queue.inFlight);
  gauge('pending_changes', 'Changes applied but not yet written', () => parts.store.pendingChanges);
  gauge('events_subscribers', 'Change-feed subscribers', () => parts.events.subscribers);
  gauge('events_last_seq', 'Sequence number of the last change event', () => parts.events.last);
  gauge('upload_packs', 'git upload-pack processes running', () => parts.uploads.inUse);
  gauge('upload_packs_waiting', 'Clones waiting for an upload-pack slot', () => parts.uploads.queued);
  return { registry, requests, notifySeconds };
}
