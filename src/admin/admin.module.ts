import { Module } from '@nestjs/common';
import { MessagingModule } from '../messaging/messaging.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { AdminMessagesController } from './admin-messages.controller';
import { AdminScheduledController } from './admin-scheduled.controller';
import { AdminTopicsController } from './admin-topics.controller';

/** `/api/v1/admin/*`: every route needs the `admin` role. */
@Module({
  imports: [NotificationsModule, MessagingModule],
  controllers: [AdminMessagesController, AdminTopicsController, AdminScheduledController],
})
export class AdminModule {}
