import type { LoggerService } from '@nestjs/common';

/** At most one line a period: a flood of bad input must not become a flood of log lines. */
const PERIOD_MS = 10_000;

/**
 * Warns of something that can happen many times a second (a malformed message on a queue): the
 * first time at once, then at most once a period, saying how many were not logged since.
 */
export class ThrottledWarning {
  private last = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: Pick<LoggerService, 'warn'>,
    private readonly periodMs = PERIOD_MS,
  ) {}

  warn(line: string): void {
    const now = Date.now();
    if (now - this.last < this.periodMs) {
      this.suppressed += 1;
      return;
    }
    const more = this.suppressed > 0 ? ` (and ${this.suppressed} more since the last line)` : '';
    this.last = now;
    this.suppressed = 0;
    this.logger.warn(`${line}${more}`);
  }
}
