import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { inBatches, Periodic } from '../../common/periodic';
import { NotificationsRepository } from './notifications.repository';

/** How often each instance looks for expired notifications (instances may overlap: harmless). */
const PURGE_EVERY_MS = 60_000;
/** Rows per DELETE, so a large backlog never holds one long transaction. */
const PURGE_BATCH = 5000;

/**
 * Deletes expired notifications. They are already invisible (never listed, counted, replayed or
 * delivered); this only reclaims the space.
 */
@Injectable()
export class ExpiryPurge implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ExpiryPurge.name);
  private readonly job = new Periodic(() => this.purgeAll(), PURGE_EVERY_MS);

  constructor(private readonly repository: NotificationsRepository) {}

  onApplicationBootstrap(): void {
    this.job.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.job.stop();
  }

  /** One pass, in batches until nothing expired is left; answers how many rows went. */
  purge(): Promise<number> {
    return this.job.run();
  }

  private async purgeAll(): Promise<number> {
    try {
      const purge = (limit: number) => this.repository.purgeExpired(new Date(), limit);
      const total = await inBatches(purge, PURGE_BATCH);
      if (total > 0) this.logger.log(`Purged ${total} expired notifications`);
      return total;
    } catch (error) {
      this.logger.warn(`Expiry purge failed, will try again: ${String(error)}`);
      return 0;
    }
  }
}
