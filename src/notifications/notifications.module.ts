import { Module } from '@nestjs/common';
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
    { provide: NotificationsRepository, useClass: NotificationsDrizzleRepository },
  ],
  exports: [NotificationsService, NotificationBatcher],
})
export class NotificationsModule {}
