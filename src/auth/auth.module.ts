import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard } from './auth.guard';
import { JwtVerifier } from './jwt-verifier.service';
import { RolesGuard } from './roles.guard';
import { TicketsController } from './tickets.controller';
import { TicketsDrizzleRepository } from './tickets-drizzle.repository';
import { TicketsRepository } from './tickets.repository';
import { TicketsService } from './tickets.service';
import { TokenSigner } from './token-signer.service';

/** Global guards run in the order registered: who you are (AuthGuard), then what you may do. */
@Module({
  controllers: [TicketsController],
  providers: [
    JwtVerifier,
    TokenSigner,
    TicketsService,
    { provide: TicketsRepository, useClass: TicketsDrizzleRepository },
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
  ],
  exports: [JwtVerifier, TokenSigner],
})
export class AuthModule {}
