import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AudienceDrizzleRepository } from './audience-drizzle.repository';
import { AudienceRepository } from './audience.repository';
import { ExpiryPurge } from './expiry-purge';
import { InboxEvents } from './inbox-events';
import { IntakeService } from './intake.service';
import { KnownUsersGuard } from './known-users.guard';
import { NotificationBatcher } from './notification-batcher';
import { NotificationsController } from './notifications.controller';
import { NotificationsDrizzleRepository } from './notifications-drizzle.repository';
import { NotificationsRepository } from './notifications.repository';
import { NotificationsService } from './notifications.service';
import { PreferencesDrizzleRepository } from './preferences-drizzle.repository';
import { PreferencesController } from './preferences.controller';
import { PreferencesRepository } from './preferences.repository';
import { ScheduledDelivery } from './scheduled-delivery';
import { ScheduledDrizzleRepository } from './scheduled-drizzle.repository';
import { ScheduledRepository } from './scheduled.repository';
import { TopicsController } from './topics.controller';
import { TopicsService } from './topics.service';

@Module({
  controllers: [NotificationsController, PreferencesController, TopicsController],
  providers: [
    NotificationsService,
    IntakeService,
    TopicsService,
    NotificationBatcher,
    InboxEvents,
    ExpiryPurge,
    ScheduledDelivery,
    { provide: APP_GUARD, useClass: KnownUsersGuard },
    { provide: NotificationsRepository, useClass: NotificationsDrizzleRepository },
    { provide: PreferencesRepository, useClass: PreferencesDrizzleRepository },
    { provide: AudienceRepository, useClass: AudienceDrizzleRepository },
    { provide: ScheduledRepository, useClass: ScheduledDrizzleRepository },
  ],
  exports: [
    NotificationsService,
    IntakeService,
    TopicsService,
    NotificationBatcher,
    InboxEvents,
    ScheduledDelivery,
  ],
})
export class NotificationsModule {}
