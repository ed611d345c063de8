import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard } from './auth.guard';
import { JwtVerifier } from './jwt-verifier.service';
import { RolesGuard } from './roles.guard';
import { TokenSigner } from './token-signer.service';

/** Global guards run in the order registered: who you are (AuthGuard), then what you may do. */
@Module({
  providers: [
    JwtVerifier,
    TokenSigner,
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
  ],
  exports: [JwtVerifier, TokenSigner],
})
export class AuthModule {}
