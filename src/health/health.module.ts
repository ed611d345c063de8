import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { MessagingModule } from '../messaging/messaging.module';
import { HealthController } from './health.controller';

@Module({
  // Failing checks are answered 503, not logged: a probe every few seconds would flood the log.
  imports: [TerminusModule.forRoot({ logger: false }), MessagingModule],
  controllers: [HealthController],
})
export class HealthModule {}
