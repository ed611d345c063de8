import { createPublicKey, KeyObject } from 'node:crypto';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import {
  createRemoteJWKSet,
  errors,
  JWTPayload,
  JWTVerifyGetKey,
  jwtVerify,
  JWTHeaderParameters,
  FlattenedJWSInput,
} from 'jose';
import { malformedText } from '../common/well-formed';
import { HeraldConfig } from '../config/herald-config';
import type { AuthenticatedUser } from './authenticated-user';
import { InvalidTokenError } from './invalid-token.error';

/** Tolerated clock difference between Herald and the token issuer. */
const CLOCK_TOLERANCE_S = 30;
/** Ids end up in SQL keys, log lines and SSE frames. */
const IDENTIFIER = /^[^\p{Cc}]{1,200}$/u;

const ASYMMETRIC_ALGORITHMS = ['RS256', 'ES256'] as const;

function algorithmOf(key: KeyObject): 'RS256' | 'ES256' {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return 'ES256';
  }
  throw new Error('AUTH_JWT_PUBLIC_KEY must be an RSA or a P-256 EC public key');
}

function reasonOf(error: unknown): string {
  if (error instanceof InvalidTokenError) return error.message.replace(/^Invalid token: /, '');
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad signature';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (error instanceof errors.JWTClaimValidationFailed) return `${error.claim} claim rejected`;
  if (error instanceof errors.JWKSNoMatchingKey) return 'no matching key';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed';
  if (error instanceof errors.JWKSTimeout) return 'key set unreachable';
  return 'unverifiable';
}

/**
 * Verifies bearer JWTs. Keys: HS256 with AUTH_JWT_SECRET (or the development secret), RS256 or
 * ES256 with AUTH_JWT_PUBLIC_KEY or the JWKS at AUTH_JWKS_URL (fetched on demand and cached by
 * jose). The key is chosen by the token's `alg`, and only algorithms with a configured key are
 * allowed, so `none` never is, and an HS256 token can never be checked against a public key
 * (the algorithm-confusion attack).
 */
@Injectable()
export class JwtVerifier implements OnModuleInit {
  private readonly logger = new Logger('Auth');
  private readonly algorithms: string[] = [];
  private readonly getKey: JWTVerifyGetKey;

  constructor(private readonly config: HeraldConfig) {
    const { secret, publicKey, jwksUrl } = config.auth;
    const hmacKey = secret ? new TextEncoder().encode(secret) : undefined;
    let asymmetric: JWTVerifyGetKey | undefined;
    if (hmacKey) this.algorithms.push('HS256');
    if (publicKey) {
      const key = createPublicKey(publicKey);
      this.algorithms.push(algorithmOf(key));
      asymmetric = () => key;
    } else if (jwksUrl) {
      this.algorithms.push(...ASYMMETRIC_ALGORITHMS);
      asymmetric = createRemoteJWKSet(new URL(jwksUrl), {
        cooldownDuration: 30_000,
        cacheMaxAge: 10 * 60_000,
        timeoutDuration: 5_000,
      });
    }
    this.getKey = (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
      if (header.alg === 'HS256' && hmacKey) return hmacKey;
      if (header.alg !== 'HS256' && asymmetric) return asymmetric(header, token);
      throw new InvalidTokenError('algorithm not allowed');
    };
  }

  onModuleInit(): void {
    if (!this.config.auth.usingDevelopmentSecret) return;
    const banner = '!'.repeat(78);
    this.logger.warn(
      [
        banner,
        'NO AUTH CONFIGURED: Herald is using its built-in DEVELOPMENT secret.',
        'Anyone can mint a token for any user (npm run token -- <userId> --admin).',
        'Set AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL before real use;',
        'with NODE_ENV=production Herald refuses to start without one.',
        banner,
      ].join('\n'),
    );
  }

  async verify(token: string): Promise<AuthenticatedUser> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.getKey, {
        algorithms: this.algorithms,
        issuer: this.config.auth.issuer,
        audience: this.config.auth.audience,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (error) {
      throw new InvalidTokenError(reasonOf(error));
    }
    return this.userOf(payload);
  }

  private userOf(payload: JWTPayload): AuthenticatedUser {
    const { sub, tenant, roles, exp } = payload as JWTPayload & {
      tenant?: unknown;
      roles?: unknown;
    };
    const identifier = (value: unknown): value is string =>
      typeof value === 'string' && IDENTIFIER.test(value) && !malformedText(value);
    if (!identifier(sub)) throw new InvalidTokenError('bad sub');
    if (tenant !== undefined && !identifier(tenant)) {
      throw new InvalidTokenError('bad tenant');
    }
    if (
      roles !== undefined &&
      (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string'))
    ) {
      throw new InvalidTokenError('roles must be an array of strings');
    }
    return {
      userId: sub,
      tenantId: tenant ?? null,
      roles: roles ?? [],
      expiresAt: new Date(exp! * 1000),
    };
  }
}
