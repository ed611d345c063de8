import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard } from './auth.guard';
import { JwtVerifier } from './jwt-verifier';
import { IpRateLimitGuard, RateLimits, UserRateLimitGuard } from './rate-limit.guards';
import { RolesGuard } from './roles.guard';
import { StreamSessionController } from './stream-session.controller';
import { StreamSessions } from './stream-sessions';
import { StreamSessionsDrizzleRepository } from './stream-sessions-drizzle.repository';
import { StreamSessionsRepository } from './stream-sessions.repository';
import { TicketsController } from './tickets.controller';
import { TicketsDrizzleRepository } from './tickets-drizzle.repository';
import { TicketsRepository } from './tickets.repository';
import { Tickets } from './tickets';
import { TokenSigner } from './token-signer';

/**
 * Global guards run in the order registered: how often this address calls, who you are
 * (AuthGuard), how often you call, then what you may do.
 */
@Module({
  imports: [RateLimits],
  controllers: [TicketsController, StreamSessionController],
  providers: [
    JwtVerifier,
    TokenSigner,
    Tickets,
    StreamSessions,
    { provide: TicketsRepository, useClass: TicketsDrizzleRepository },
    { provide: StreamSessionsRepository, useClass: StreamSessionsDrizzleRepository },
    { provide: APP_GUARD, useClass: IpRateLimitGuard },
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: UserRateLimitGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
  ],
  exports: [JwtVerifier, TokenSigner],
})
export class AuthModule {}
