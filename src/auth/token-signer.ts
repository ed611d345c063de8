import { Injectable } from '@nestjs/common';
import { SignJWT } from 'jose';
import { HeraldConfig } from '../config/herald-config';

interface TokenRequest {
  userId: string;
  tenantId?: string;
  roles?: string[];
  ttlSeconds: number;
}

/** Mints HS256 user tokens with AUTH_JWT_SECRET or the development secret (npm run token). */
@Injectable()
export class TokenSigner {
  constructor(private readonly config: HeraldConfig) {}

  async sign(request: TokenRequest): Promise<string> {
    const { secret, issuer, audience } = this.config.auth;
    if (!secret) {
      throw new Error(
        'Herald verifies tokens with a public key or JWKS only: mint tokens with your identity provider',
      );
    }
    const claims: Record<string, unknown> = { roles: request.roles ?? [] };
    if (request.tenantId) claims.tenant = request.tenantId;
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(request.userId)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + request.ttlSeconds);
    if (issuer) jwt.setIssuer(issuer);
    if (audience) jwt.setAudience(audience);
    return jwt.sign(new TextEncoder().encode(secret));
  }
}
