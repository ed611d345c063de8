import { ConfigurationError, Environment, LogLevel, parseEnvironment } from './environment';

/** Signs development tokens when no AUTH_* variable is set; refused when NODE_ENV=production. */
export const DEVELOPMENT_JWT_SECRET = 'herald-development-secret-not-for-production-use';

interface AuthConfig {
  /** HS256 secret: AUTH_JWT_SECRET, or the development secret. */
  secret?: string;
  /** PEM public key for RS256/ES256. */
  publicKey?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** True when no AUTH_* variable was set and the development secret is in use. */
  usingDevelopmentSecret: boolean;
}

/**
 * The validated configuration, read once at start-up. An abstract class so that it is its own
 * injection token: `constructor(private readonly config: HeraldConfig)` needs no @Inject().
 */
export abstract class HeraldConfig {
  env: Environment['NODE_ENV'];
  port: number;
  /**
   * The address to listen on: HOST, else 127.0.0.1 on the development secret (which lets anyone
   * who reaches the port mint admin tokens), else undefined = all interfaces.
   */
  host?: string;
  logLevel: LogLevel;
  amqp: {
    urls: string[];
    exchange: string;
    prefix: string;
    prefetch: number;
    queueType: 'classic' | 'quorum';
    /**
     * The ingest queue gives its messages to one consumer at a time (the others stand by and take
     * over when it goes): the order of a producer's messages holds across instances.
     */
    singleActiveConsumer: boolean;
    maxMessageBytes: number;
    /** Messages the publisher holds while the broker is unreachable before it refuses more. */
    publishBuffer: number;
  };
  /** Attempts to store a message while storage is unavailable, before it is dead-lettered. */
  ingest: { maxAttempts: number };
  /**
   * The second way in (CONTRACT.md v1.1 "Redis"): off without `url`. `claimIdleMs`: how long an
   * entry stays pending with a consumer that stopped before another instance takes it over.
   */
  redis: { url?: string; prefix: string; claimIdleMs: number };
  /** `url` set = PostgreSQL; unset = embedded PGlite in `dataDir`. Tables live in `schema`. */
  database: { url?: string; schema: string; dataDir: string };
  auth: AuthConfig;
  sse: {
    heartbeatMs: number;
    /** Concurrent streams one user may hold on one instance; the next is answered 429. */
    maxStreamsPerUser: number;
  };
  /** Topic subscriptions one user may hold (each is a routing key bound per open stream). */
  topics: { maxPerUser: number };
  http: {
    /** Requests per minute: per authenticated user, and per client address for everything. */
    rateLimit: { perUser: number; perIp: number };
    maxBodyBytes: number;
    /** Browser origins allowed to call the API; empty = no CORS headers; `*` = any. */
    corsOrigins: string[];
    /** Express `trust proxy`, so that the client address behind a load balancer is the real one. */
    trustProxy?: string;
  };
}

function authConfig(env: Environment): AuthConfig {
  if (env.AUTH_JWT_PUBLIC_KEY && env.AUTH_JWKS_URL) {
    throw new ConfigurationError(['set AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL, not both']);
  }
  const configured = !!(env.AUTH_JWT_SECRET || env.AUTH_JWT_PUBLIC_KEY || env.AUTH_JWKS_URL);
  if (!configured && env.NODE_ENV === 'production') {
    throw new ConfigurationError([
      'NODE_ENV=production needs AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL: ' +
        'Herald refuses to run production on the development secret',
    ]);
  }
  if (env.AUTH_JWKS_URL && env.NODE_ENV === 'production' && !/^https:/i.test(env.AUTH_JWKS_URL)) {
    throw new ConfigurationError([
      'AUTH_JWKS_URL must be an https:// URL with NODE_ENV=production: ' +
        'keys fetched over plain http can be replaced on the way',
    ]);
  }
  return {
    secret: configured ? env.AUTH_JWT_SECRET : DEVELOPMENT_JWT_SECRET,
    publicKey: env.AUTH_JWT_PUBLIC_KEY?.replace(/\\n/g, '\n'),
    jwksUrl: env.AUTH_JWKS_URL,
    issuer: env.AUTH_JWT_ISSUER,
    audience: env.AUTH_JWT_AUDIENCE,
    usingDevelopmentSecret: !configured,
  };
}

/** Builds the one typed configuration object; throws ConfigurationError naming each bad variable. */
export function loadConfig(raw: Record<string, string | undefined>): HeraldConfig {
  const env = parseEnvironment(raw);
  const auth = authConfig(env);
  return {
    env: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST ?? (auth.usingDevelopmentSecret ? '127.0.0.1' : undefined),
    logLevel: env.LOG_LEVEL,
    amqp: {
      urls: env.AMQP_URL.split(',').map((url) => url.trim()),
      exchange: env.AMQP_EXCHANGE,
      prefix: env.AMQP_PREFIX,
      prefetch: env.AMQP_PREFETCH,
      queueType: env.AMQP_QUEUE_TYPE,
      singleActiveConsumer: env.AMQP_SINGLE_ACTIVE_CONSUMER === 'true',
      maxMessageBytes: env.AMQP_MAX_MESSAGE_BYTES,
      publishBuffer: env.AMQP_PUBLISH_BUFFER,
    },
    ingest: { maxAttempts: env.INGEST_MAX_ATTEMPTS },
    redis: { url: env.REDIS_URL, prefix: env.REDIS_PREFIX, claimIdleMs: env.REDIS_CLAIM_IDLE_MS },
    database: { url: env.DATABASE_URL, schema: env.DATABASE_SCHEMA, dataDir: env.DATA_DIR },
    auth,
    sse: { heartbeatMs: env.SSE_HEARTBEAT_MS, maxStreamsPerUser: env.SSE_MAX_STREAMS_PER_USER },
    topics: { maxPerUser: env.TOPICS_MAX_PER_USER },
    http: {
      rateLimit: { perUser: env.RATE_LIMIT_PER_USER, perIp: env.RATE_LIMIT_PER_IP },
      maxBodyBytes: env.HTTP_MAX_BODY_BYTES,
      corsOrigins: (env.CORS_ORIGINS ?? '')
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
      trustProxy: env.TRUST_PROXY,
    },
  };
}
