import { Module } from '@nestjs/common';
import { MessagingModule } from '../messaging/messaging.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { AdminDeadLettersController } from './admin-dead-letters.controller';
import { AdminInspectController } from './admin-inspect.controller';
import { AdminMessagesController } from './admin-messages.controller';
import { AdminScheduledController } from './admin-scheduled.controller';
import { AdminTemplatesController } from './admin-templates.controller';
import { AdminTopicsController } from './admin-topics.controller';

/** `/api/v1/admin/*`: every route needs the `admin` role. */
@Module({
  imports: [NotificationsModule, MessagingModule],
  controllers: [
    AdminMessagesController,
    AdminInspectController,
    AdminTopicsController,
    AdminScheduledController,
    AdminTemplatesController,
    AdminDeadLettersController,
  ],
})
export class AdminModule {}
