import { Module } from '@nestjs/common';
import { NotificationsModule } from '../notifications/notifications.module';
import { RealtimeBus } from './realtime-bus';
import { RealtimeRouter } from './realtime-router';
import { StreamController } from './stream.controller';
import { StreamRegistry } from './stream-registry';
import { Streams } from './streams';

@Module({
  imports: [NotificationsModule],
  controllers: [StreamController],
  providers: [StreamRegistry, Streams, RealtimeRouter, RealtimeBus],
  exports: [RealtimeRouter, StreamRegistry],
})
export class RealtimeModule {}
