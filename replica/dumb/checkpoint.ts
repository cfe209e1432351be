/**
 * A write that is worth doing now and then while work goes on, never twice at once: poke() after
 * each step starts the write when the last one began at least `everyMs` ago and none is running;
 * settle() waits for the one in flight. A failed checkpoint is not fatal (the final write reports
 * its own error); it is retried at the next poke.
 */
export class Checkpoint {
  private running: Promise<void> | null = null;
  private last: number;

  constructor(
    private readonly write: () => Promise<void>,
    private readonly everyMs: number,
    private readonly now: () => number,
  ) {
    this.last = now();
  }

  poke(): void {
    if (this.running !== null || this.now() - this.last < this.everyMs) return;
    this.last = this.now();
    this.running = this.write()
      .catch(() => undefined)
      .finally(() => (this.running = null));
  }

  async settle(): Promise<void> {
    await this.running;
  }
}
