import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AudienceDrizzleRepository } from './audience/audience-drizzle.repository';
import { AudienceRepository } from './audience/audience.repository';
import { ExpiryPurge } from './inbox/expiry-purge';
import { SnoozeAlarm } from './inbox/snooze-alarm';
import { InboxEvents } from './inbox-events';
import { Intake } from './intake/intake';
import { KnownUsersGuard } from './audience/known-users.guard';
import { NotificationBatcher } from './intake/notification-batcher';
import { NotificationsController } from './inbox/notifications.controller';
import { NotificationsDrizzleRepository } from './inbox/notifications-drizzle.repository';
import { NotificationsRepository } from './inbox/notifications.repository';
import { Inbox } from './inbox/inbox';
import { PreferencesDrizzleRepository } from './audience/preferences-drizzle.repository';
import { PreferencesController } from './audience/preferences.controller';
import { PreferencesRepository } from './audience/preferences.repository';
import { ScheduledDelivery } from './scheduling/scheduled-delivery';
import { ScheduledDrizzleRepository } from './scheduling/scheduled-drizzle.repository';
import { ScheduledRepository } from './scheduling/scheduled.repository';
import { TopicsController } from './audience/topics.controller';
import { Topics } from './audience/topics';
import { Templates } from './templates/templates';
import { TemplatesDrizzleRepository } from './templates/templates-drizzle.repository';
import { TemplatesRepository } from './templates/templates.repository';

@Module({
  controllers: [NotificationsController, PreferencesController, TopicsController],
  providers: [
    Inbox,
    Intake,
    Topics,
    Templates,
    NotificationBatcher,
    InboxEvents,
    ExpiryPurge,
    SnoozeAlarm,
    ScheduledDelivery,
    { provide: APP_GUARD, useClass: KnownUsersGuard },
    { provide: NotificationsRepository, useClass: NotificationsDrizzleRepository },
    { provide: PreferencesRepository, useClass: PreferencesDrizzleRepository },
    { provide: AudienceRepository, useClass: AudienceDrizzleRepository },
    { provide: ScheduledRepository, useClass: ScheduledDrizzleRepository },
    { provide: TemplatesRepository, useClass: TemplatesDrizzleRepository },
  ],
  exports: [Inbox, Intake, Topics, Templates, NotificationBatcher, InboxEvents, ScheduledDelivery],
})
export class NotificationsModule {}
