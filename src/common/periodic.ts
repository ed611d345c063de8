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
