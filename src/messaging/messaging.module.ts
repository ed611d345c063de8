import { INestApplication, Module } from '@nestjs/common';
import { HeraldConfig } from '../config/herald-config';
import { HeraldMetrics } from '../metrics/herald-metrics';
import { NotificationsModule } from '../notifications/notifications.module';
import { AmqpPublisher } from './amqp-publisher';
import { AmqpServer } from './amqp-server';
import { DeadLetters } from './dead-letters';
import { IngestController } from './ingest.controller';
import { RedisServer } from './redis-server';

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
    // Null unless REDIS_URL is set.
    {
      provide: RedisServer,
      useFactory: (config: HeraldConfig, metrics: HeraldMetrics) => {
        const { url } = config.redis;
        if (!url) return null;
        const { maxMessageBytes, prefetch } = config.amqp;
        return new RedisServer({ ...config.redis, url }, { maxMessageBytes, prefetch }, metrics);
      },
      inject: [HeraldConfig, HeraldMetrics],
    },
  ],
  exports: [AmqpPublisher, DeadLetters, AmqpServer, RedisServer],
})
export class MessagingModule {}

/**
 * Makes the HTTP app a hybrid one: the RabbitMQ transport (and the Redis one, when REDIS_URL is
 * set) feeds the @EventPattern handlers, with the app's global pipes, guards and filters.
 * Resolves once the transports started connecting.
 */
export async function startIngest(app: INestApplication): Promise<AmqpServer> {
  const server = app.get(AmqpServer);
  app.connectMicroservice({ strategy: server }, { inheritAppConfig: true });
  const redis = app.get<RedisServer | null>(RedisServer);
  if (redis) app.connectMicroservice({ strategy: redis }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  return server;
}
