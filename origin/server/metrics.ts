/** Prometheus metrics for grok-origin, in a registry of their own (no global state). */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
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
  const requests = new Counter({ name: 'grok_origin_http_requests_total', help: 'HTTP requests answered', labelNames: ['route', 'method', 'status'], registers: [registry] });
  const notifySeconds = new Histogram({
    name: 'grok_origin_notify_seconds',
    help: 'Time from a notice to its manifest write being on disk',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  gauge('grok_origin_manifest_entries', 'Repositories in the manifest', () => parts.store.size);
  gauge('grok_origin_manifest_last_write_timestamp_seconds', 'When the manifest was last written', () => parts.store.lastWriteMs / 1000);
  gauge('grok_origin_manifest_writes', 'Manifest writes since start', () => parts.store.writeCount);
  gauge('grok_origin_notify_queue', 'Notices being handled', () => parts.queue.inFlight);
  gauge('grok_origin_pending_changes', 'Changes applied but not yet written', () => parts.store.pendingChanges);
  gauge('grok_origin_events_subscribers', 'Change-feed subscribers', () => parts.events.subscribers);
  gauge('grok_origin_events_last_seq', 'Sequence number of the last change event', () => parts.events.last);
  gauge('grok_origin_upload_packs', 'git upload-pack processes running', () => parts.uploads.inUse);
  gauge('grok_origin_upload_packs_waiting', 'Clones waiting for an upload-pack slot', () => parts.uploads.queued);
  return { registry, requests, notifySeconds };
}
