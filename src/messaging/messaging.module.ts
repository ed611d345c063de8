import { INestApplication, Module } from '@nestjs/common';
import { HeraldConfig } from '../config/herald-config';
import { NotificationsModule } from '../notifications/notifications.module';
import { RealtimeModule } from '../realtime/realtime.module';
import { AmqpPublisher } from './amqp-publisher';
import { AmqpServer } from './amqp.server';
import { DeadLetters } from './dead-letters';
import { IngestController } from './ingest.controller';

@Module({
  imports: [NotificationsModule, RealtimeModule],
  controllers: [IngestController],
  providers: [AmqpPublisher, DeadLetters],
  exports: [AmqpPublisher, DeadLetters],
})
export class MessagingModule {}

/**
 * Makes the HTTP app a hybrid one: the RabbitMQ transport feeds the @EventPattern handlers, with
 * the app's global pipes, guards and filters. Resolves once the transport started connecting.
 */
export async function startIngest(app: INestApplication): Promise<AmqpServer> {
  const server = new AmqpServer(app.get(HeraldConfig).amqp);
  app.connectMicroservice({ strategy: server }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  return server;
}
