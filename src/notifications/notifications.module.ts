import { Module } from '@nestjs/common';
import { InboxEvents } from './inbox-events';
import { NotificationBatcher } from './notification-batcher';
import { NotificationsController } from './notifications.controller';
import { NotificationsDrizzleRepository } from './notifications-drizzle.repository';
import { NotificationsRepository } from './notifications.repository';
import { NotificationsService } from './notifications.service';

@Module({
  controllers: [NotificationsController],
  providers: [
    NotificationsService,
    NotificationBatcher,
    InboxEvents,
    { provide: NotificationsRepository, useClass: NotificationsDrizzleRepository },
  ],
  exports: [NotificationsService, NotificationBatcher, InboxEvents],
})
export class NotificationsModule {}
