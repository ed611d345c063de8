import { createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import {
  errors,
  JWTPayload,
  JWTVerifyGetKey,
  jwtVerify,
  JWTHeaderParameters,
  FlattenedJWSInput,
} from 'jose';
import { UnavailableError } from '../common/domain-error';
import { malformedText } from '../common/well-formed';
import { HeraldConfig } from '../config/herald-config';
import type { AuthenticatedUser } from './authenticated-user';
import { InvalidTokenError } from './invalid-token.error';
import { RemoteKeySet, RemoteKeySetOptions } from './remote-key-set';

/** Tolerated clock difference between Herald and the token issuer. */
const CLOCK_TOLERANCE_S = 30;
/** Ids end up in SQL keys, log lines and SSE frames. */
const IDENTIFIER = /^[^\p{Cc}]{1,200}$/u;

const ASYMMETRIC_ALGORITHMS = ['RS256', 'ES256'] as const;
const LOOPBACK = /^(127(\.\d{1,3}){3}|::1|localhost)$/i;

/** jose's own defaults for timeout, age and cool-down; the retry pause and warnings are ours. */
const JWKS_TIMING: Omit<RemoteKeySetOptions, 'logger' | 'now'> = {
  timeoutMs: 5_000,
  maxAgeMs: 10 * 60_000,
  cooldownMs: 30_000,
  retryMinMs: 1_000,
  retryMaxMs: 30_000,
  warnEveryMs: 5 * 60_000,
  maxBytes: 512 * 1024,
};

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
  return 'unverifiable';
}

/**
 * Verifies bearer JWTs. Keys: HS256 with AUTH_JWT_SECRET (or the development secret), RS256 or
 * ES256 with AUTH_JWT_PUBLIC_KEY or the JWKS at AUTH_JWKS_URL (fetched at start, kept through
 * outages of its server: remote-key-set.ts). The key is chosen by the token's `alg`, and only
 * algorithms with a configured key are allowed, so `none` never is, and an HS256 token can never
 * be checked against a public key (the algorithm-confusion attack).
 */
@Injectable()
export class JwtVerifier implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Auth');
  private readonly algorithms: string[] = [];
  private readonly getKey: JWTVerifyGetKey;
  private readonly keySet?: RemoteKeySet;

  constructor(private readonly config: HeraldConfig) {
    const { secret, publicKey, jwksUrl } = config.auth;
    // A KeyObject made once: given bytes, jose makes one on every verification.
    const hmacKey = secret ? createSecretKey(Buffer.from(secret, 'utf8')) : undefined;
    let asymmetric: JWTVerifyGetKey | undefined;
    if (hmacKey) this.algorithms.push('HS256');
    if (publicKey) {
      const key = createPublicKey(publicKey);
      this.algorithms.push(algorithmOf(key));
      asymmetric = () => key;
    } else if (jwksUrl) {
      this.algorithms.push(...ASYMMETRIC_ALGORITHMS);
      this.keySet = new RemoteKeySet(new URL(jwksUrl), { ...JWKS_TIMING, logger: this.logger });
      asymmetric = this.keySet.getKey;
    }
    this.getKey = (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
      if (header.alg === 'HS256' && hmacKey) return hmacKey;
      if (header.alg !== 'HS256' && asymmetric) return asymmetric(header, token);
      throw new InvalidTokenError('algorithm not allowed');
    };
  }

  onModuleInit(): void {
    this.keySet?.prefetch();
    if (!this.config.auth.usingDevelopmentSecret) return;
    const banner = '!'.repeat(78);
    const host = this.config.host ?? '::';
    this.logger.warn(
      [
        banner,
        'NO AUTH CONFIGURED: Herald is using its built-in DEVELOPMENT secret.',
        'Anyone can mint a token for any user (npm run token -- <userId> --admin,',
        'POST /api/v1/dev/tokens).',
        LOOPBACK.test(host)
          ? `Listening on ${host} only (loopback), so only this machine can; HOST changes it.`
          : `HOST=${host}: ANYONE WHO CAN REACH THIS PORT CAN MINT ADMIN TOKENS.`,
        'Set AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL before real use;',
        'with NODE_ENV=production Herald refuses to start without one.',
        banner,
      ].join('\n'),
    );
  }

  onModuleDestroy(): void {
    this.keySet?.close();
  }

  /** InvalidTokenError (401), or UnavailableError (503) when the key cannot be known now. */
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
      if (error instanceof UnavailableError) throw error;
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
