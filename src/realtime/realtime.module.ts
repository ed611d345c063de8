import { DynamicModule, Module, Type } from '@nestjs/common';
import { NotificationsModule } from '../notifications/notifications.module';
import { BusLossCheck } from './bus-loss-check';
import { RealtimeBus } from './realtime-bus';
import { RealtimeRouter } from './realtime-router';
import { StreamController } from './stream.controller';
import { StreamRegistry } from './stream-registry';
import { Streams } from './streams';
import { UnreadCounts } from './unread-counts';

/**
 * Streams out: SSE streams, routing, unread counts. Global, as intake (messaging/) and admin push
 * live events through the router; the bus implementation comes from outside (AppModule gives
 * messaging/AmqpRealtimeBus), so realtime/ never imports the broker code.
 */
@Module({})
export class RealtimeModule {
  static register(bus: Type<RealtimeBus>): DynamicModule {
    return {
      module: RealtimeModule,
      global: true,
      imports: [NotificationsModule],
      controllers: [StreamController],
      providers: [
        StreamRegistry,
        Streams,
        BusLossCheck,
        RealtimeRouter,
        UnreadCounts,
        { provide: RealtimeBus, useClass: bus },
      ],
      exports: [RealtimeRouter, StreamRegistry],
    };
  }
}
