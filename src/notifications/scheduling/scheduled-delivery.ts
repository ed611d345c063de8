import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { Periodic } from '../../common/periodic';
import { InvalidInputError } from '../../common/domain-error';
import { validateInput } from '../../common/validation';
import { CreateNotificationCommand } from '../intake/create-notification.command';
import { NotificationBatcher } from '../intake/notification-batcher';
import { ScheduledNotification, ScheduledRepository } from './scheduled.repository';

/** How often each instance looks for due notifications: a scheduled one arrives up to this late. */
const POLL_MS = 1000;
/** Entries claimed per look. */
const CLAIM_LIMIT = 200;
/** How long a claim keeps other instances off; an instance that died is taken over after it. */
const LEASE_MS = 60_000;

/**
 * Delivers scheduled notifications when they fall due, from any instance: each entry is claimed
 * with a lease, stored through the batcher like any incoming notification (under its own id, so
 * delivering it twice stores it once), then removed. Entries live in the database, so they survive
 * restarts.
 */
@Injectable()
export class ScheduledDelivery implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ScheduledDelivery.name);
  private readonly job = new Periodic(() => this.deliverAll(), POLL_MS);
  private stopped = false;

  constructor(
    private readonly repository: ScheduledRepository,
    private readonly batcher: NotificationBatcher,
  ) {}

  onApplicationBootstrap(): void {
    this.job.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    return this.job.stop();
  }

  list(tenantId: string | null, limit: number): Promise<ScheduledNotification[]> {
    return this.repository.list(tenantId, limit);
  }

  /** False when nothing is held under that id: unknown, delivered or cancelled already. */
  cancel(tenantId: string | null, id: string): Promise<boolean> {
    return this.repository.cancel(tenantId, id);
  }

  /** One pass over what is due now (the timer runs one at a time). */
  deliverDue(): Promise<void> {
    return this.job.run();
  }

  private async deliverAll(): Promise<void> {
    try {
      for (;;) {
        if (this.stopped) return;
        const due = await this.repository.claimDue(CLAIM_LIMIT, LEASE_MS);
        await Promise.all(due.map((entry) => this.deliver(entry)));
        if (due.length < CLAIM_LIMIT) return;
      }
    } catch (error) {
      this.logger.warn(`Scheduled delivery failed, will try again: ${String(error)}`);
    }
  }

  private async deliver(entry: ScheduledNotification): Promise<void> {
    try {
      // Due now: stored at once, whatever the clocks of this process and the database say.
      const command = validateInput(CreateNotificationCommand, {
        ...entry.command,
        deliverAt: undefined,
      });
      const { ids } = await this.batcher.store(command);
      await this.repository.remove(entry);
      this.logger.log(`Delivered scheduled notification ${entry.id} to ${ids.length} recipients`);
    } catch (error) {
      // Valid when it came, no longer (its template went away or changed): kept until it can be
      // delivered or is cancelled, never dropped.
      const remedy =
        error instanceof InvalidInputError
          ? `; fix its template, or cancel it (DELETE /api/v1/admin/scheduled/${entry.id})`
          : '';
      this.logger.warn(
        `Scheduled notification ${entry.id} not delivered (retried in ${LEASE_MS / 1000} s): ${String(error)}${remedy}`,
      );
    }
  }
}
