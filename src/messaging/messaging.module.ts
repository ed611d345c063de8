import { INestApplication, Module } from '@nestjs/common';
import { HeraldConfig } from '../config/herald-config';
import { HeraldMetrics } from '../metrics/herald-metrics';
import { NotificationsModule } from '../notifications/notifications.module';
import { AmqpPublisher } from './amqp-publisher';
import { AmqpServer } from './amqp-server';
import { DeadLetters } from './dead-letters';
import { IngestController } from './ingest.controller';

@Module({
  imports: [NotificationsModule],
  controllers: [IngestController],
  providers: [
    AmqpPublisher,
    DeadLetters,
    // Built here so that health and metrics can see it; startIngest() connects it to the app.
    {
      provide: AmqpServer,
      useFactory: (config: HeraldConfig, metrics: HeraldMetrics) =>
        new AmqpServer(config.amqp, metrics),
      inject: [HeraldConfig, HeraldMetrics],
    },
  ],
  exports: [AmqpPublisher, DeadLetters, AmqpServer],
})
export class MessagingModule {}

/**
 * Makes the HTTP app a hybrid one: the RabbitMQ transport feeds the @EventPattern handlers, with
 * the app's global pipes, guards and filters. Resolves once the transport started connecting.
 */
export async function startIngest(app: INestApplication): Promise<AmqpServer> {
  const server = app.get(AmqpServer);
  app.connectMicroservice({ strategy: server }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  return server;
}
