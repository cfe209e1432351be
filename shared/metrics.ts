/**
 * What both sides' /metrics carry besides their own: the process and runtime metrics prom-client
 * collects (process_*, nodejs_*: CPU, memory, open descriptors, event-loop lag, GC), and
 * grokmirror_build_info, so a dashboard can tell which version runs where. Every metric of ours
 * starts with METRIC_PREFIX (grokmirror_origin_ and grokmirror_replica_ below it).
 */
import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client';
import { packageVersion } from './version.js';

export const METRIC_PREFIX = 'grokmirror_';

export type Component = 'origin' | 'replica';

export function commonMetrics(registry: Registry, component: Component): void {
  collectDefaultMetrics({ register: registry });
  const info = new Gauge({
    name: `${METRIC_PREFIX}build_info`,
    help: 'Always 1; the labels say which grokmirror-ts and which node run this process',
    labelNames: ['component', 'version', 'node_version'],
    registers: [registry],
  });
  info.set({ component, version: packageVersion(), node_version: process.version }, 1);
}
