import { Module } from '@nestjs/common';
import { ExpiryPurge } from './expiry-purge';
import { InboxEvents } from './inbox-events';
import { NotificationBatcher } from './notification-batcher';
import { NotificationsController } from './notifications.controller';
import { NotificationsDrizzleRepository } from './notifications-drizzle.repository';
import { NotificationsRepository } from './notifications.repository';
import { NotificationsService } from './notifications.service';
import { PreferencesDrizzleRepository } from './preferences-drizzle.repository';
import { PreferencesController } from './preferences.controller';
import { PreferencesRepository } from './preferences.repository';

@Module({
  controllers: [NotificationsController, PreferencesController],
  providers: [
    NotificationsService,
    NotificationBatcher,
    InboxEvents,
    ExpiryPurge,
    { provide: NotificationsRepository, useClass: NotificationsDrizzleRepository },
    { provide: PreferencesRepository, useClass: PreferencesDrizzleRepository },
  ],
  exports: [NotificationsService, NotificationBatcher, InboxEvents],
})
export class NotificationsModule {}
