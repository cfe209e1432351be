/**
 * At most N operations in flight per host, whatever the overall concurrency: a sweep of millions of
 * URLs is mostly a few big hosts, and hammering one of them with the whole pool gets us rate-limited
 * or banned. One semaphore per host, made on first use.
 */
import { Semaphore } from '../../origin/server/semaphore.js';

export class HostLimiter {
  private readonly byHost = new Map<string, Semaphore>();

  constructor(private readonly perHost: number) {}

  async run<T>(host: string, fn: () => Promise<T>): Promise<T> {
    let sem = this.byHost.get(host);
    if (!sem) {
      sem = new Semaphore(this.perHost);
      this.byHost.set(host, sem);
    }
    const release = await sem.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
