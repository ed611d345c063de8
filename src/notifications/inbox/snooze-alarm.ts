import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { inBatches, Periodic } from '../../common/periodic';
import { Inbox } from './inbox';

/**
 * How often each instance wakes snoozed notifications whose time has come (CONTRACT.md v1.1:
 * within 5 s). Each is woken by one instance (the rows are claimed), and the others hear of it
 * over the realtime bus, as of any change.
 */
const WAKE_EVERY_MS = 1000;
/** Rows per pass. */
const WAKE_BATCH = 1000;

/**
 * Wakes snoozed notifications: clears their `snoozedUntil` and tells every tab of their user.
 * They are listed, counted and replayed again from the moment their time came (the queries look
 * at the time); this sends the change. A restart loses nothing: the time is stored.
 */
@Injectable()
export class SnoozeAlarm implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(SnoozeAlarm.name);
  private readonly job = new Periodic(() => this.wakeAll(), WAKE_EVERY_MS);

  constructor(private readonly inbox: Inbox) {}

  onApplicationBootstrap(): void {
    this.job.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.job.stop();
  }

  /** One pass now; answers how many woke. */
  wake(): Promise<number> {
    return this.job.run();
  }

  private async wakeAll(): Promise<number> {
    try {
      return await inBatches((limit) => this.inbox.wakeSnoozed(limit), WAKE_BATCH);
    } catch (error) {
      this.logger.warn(`Waking snoozed notifications failed, will try again: ${String(error)}`);
      return 0;
    }
  }
}
