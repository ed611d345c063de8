/**
 * Runs `pass` every `everyMs`, one pass at a time (a timer tick during a pass joins it), and
 * `stop()` waits for the pass under way. For the background jobs every instance runs: the timer
 * does not keep the process alive by itself.
 */
export class Periodic<T> {
  private timer?: NodeJS.Timeout;
  private running?: Promise<T>;

  constructor(
    private readonly pass: () => Promise<T>,
    private readonly everyMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.run(), this.everyMs).unref();
  }

  /** A pass now, or the one under way. */
  run(): Promise<T> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}

/**
 * Runs `step(batch)` until it does less than a batch (nothing left); answers the total. For jobs
 * that work through a backlog without holding one long transaction.
 */
export async function inBatches(
  step: (limit: number) => Promise<number>,
  batch: number,
): Promise<number> {
  let total = 0;
  for (;;) {
    const done = await step(batch);
    total += done;
    if (done < batch) return total;
  }
}
