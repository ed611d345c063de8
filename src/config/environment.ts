import 'reflect-metadata';
import { plainToInstance, Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The environment variables of CONTRACT.md (plus DATABASE_SCHEMA), as strings come in and as they
 * must look to be accepted. Anything not listed here is ignored.
 */
export class Environment {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV = 'development';

  @Type(() => Number)
  @Min(0)
  @Max(65535)
  @IsInt()
  PORT = 3000;

  /** Unset: loopback on the development secret, all interfaces otherwise (herald-config.ts). */
  @IsOptional()
  @Matches(/^([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*)$/, {
    message: 'HOST must be an IP address or a host name without brackets (127.0.0.1, 0.0.0.0, ::)',
  })
  HOST?: string;

  @Matches(/^\s*amqps?:\/\/[^,\s]+(\s*,\s*amqps?:\/\/[^,\s]+)*\s*$/, {
    message: 'AMQP_URL must be one or more comma-separated amqp:// or amqps:// URLs',
  })
  AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

  @Matches(/^[\w.:-]{1,200}$/, { message: 'AMQP_EXCHANGE must be 1-200 of [A-Za-z0-9_.:-]' })
  AMQP_EXCHANGE = 'notifications';

  @Matches(/^[\w.:-]{0,100}$/, { message: 'AMQP_PREFIX must be at most 100 of [A-Za-z0-9_.:-]' })
  AMQP_PREFIX = '';

  @Type(() => Number)
  @Min(1)
  @Max(5000)
  @IsInt()
  AMQP_PREFETCH = 1000;

  @IsIn(['classic', 'quorum'])
  AMQP_QUEUE_TYPE: 'classic' | 'quorum' = 'classic';

  /** One instance at a time consumes the ingest queue: one producer's order holds across them. */
  @IsIn(['true', 'false'], { message: 'AMQP_SINGLE_ACTIVE_CONSUMER must be true or false' })
  AMQP_SINGLE_ACTIVE_CONSUMER: 'true' | 'false' = 'false';

  @Type(() => Number)
  @Min(1024)
  @Max(16 * 1024 * 1024)
  @IsInt()
  AMQP_MAX_MESSAGE_BYTES = 256 * 1024;

  @Type(() => Number)
  @Min(0)
  @Max(100_000)
  @IsInt()
  AMQP_PUBLISH_BUFFER = 1000;

  @Type(() => Number)
  @Min(1)
  @Max(100)
  @IsInt()
  INGEST_MAX_ATTEMPTS = 12;

  /** Empty: RabbitMQ only. Set: notifications and live events also come in through Redis. */
  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  @Matches(/^[\w.:-]{0,100}$/, { message: 'REDIS_PREFIX must be at most 100 of [A-Za-z0-9_.:-]' })
  REDIS_PREFIX = '';

  /** A pending entry idle this long (its consumer died) is claimed by another instance. */
  @Type(() => Number)
  @Min(100)
  @Max(3_600_000)
  @IsInt()
  REDIS_CLAIM_IDLE_MS = 60_000;

  @IsOptional()
  @Matches(/^postgres(ql)?:\/\//, {
    message: 'DATABASE_URL must be a postgres:// or postgresql:// URL (or empty for PGlite)',
  })
  DATABASE_URL?: string;

  @Matches(/^[a-z_][a-z0-9_]{0,62}$/, {
    message: 'DATABASE_SCHEMA must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 63)',
  })
  DATABASE_SCHEMA = 'public';

  @IsString()
  @MinLength(1)
  DATA_DIR = './data';

  @IsOptional()
  @MinLength(32, { message: 'AUTH_JWT_SECRET must be at least 32 characters (256 bits for HS256)' })
  AUTH_JWT_SECRET?: string;

  @IsOptional()
  @Matches(/-----BEGIN PUBLIC KEY-----/, {
    message: 'AUTH_JWT_PUBLIC_KEY must be a PEM "PUBLIC KEY" (SPKI) block',
  })
  AUTH_JWT_PUBLIC_KEY?: string;

  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  AUTH_JWKS_URL?: string;

  @IsOptional()
  @IsString()
  AUTH_JWT_ISSUER?: string;

  @IsOptional()
  @IsString()
  AUTH_JWT_AUDIENCE?: string;

  @Type(() => Number)
  @Min(1000)
  @Max(600_000)
  @IsInt()
  SSE_HEARTBEAT_MS = 15000;

  @Type(() => Number)
  @Min(1)
  @Max(1000)
  @IsInt()
  SSE_MAX_STREAMS_PER_USER = 10;

  @Type(() => Number)
  @Min(1)
  @Max(1000)
  @IsInt()
  TOPICS_MAX_PER_USER = 100;

  @Type(() => Number)
  @Min(1)
  @Max(1_000_000)
  @IsInt()
  RATE_LIMIT_PER_USER = 600;

  @Type(() => Number)
  @Min(1)
  @Max(1_000_000)
  @IsInt()
  RATE_LIMIT_PER_IP = 1200;

  @Type(() => Number)
  @Min(1024)
  @Max(16 * 1024 * 1024)
  @IsInt()
  HTTP_MAX_BODY_BYTES = 256 * 1024;

  @IsOptional()
  @Matches(/^\s*(\*|https?:\/\/[^,\s]+(\s*,\s*https?:\/\/[^,\s]+)*)\s*$/, {
    message: 'CORS_ORIGINS must be * or comma-separated http(s):// origins',
  })
  CORS_ORIGINS?: string;

  @IsOptional()
  @IsString()
  TRUST_PROXY?: string;

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevel = 'info';
}

export class ConfigurationError extends Error {
  constructor(problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigurationError';
  }
}

/** Empty strings mean "not set", as they do in `.env` files and shell `VAR= cmd`. */
function withoutEmpty(raw: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(raw).filter((entry): entry is [string, string] => !!entry[1]?.trim()),
  );
}

export function parseEnvironment(raw: Record<string, string | undefined>): Environment {
  const env = plainToInstance(Environment, withoutEmpty(raw));
  // One problem per variable: constraints run bottom-up, so each type check is written last.
  const errors = validateSync(env, {
    whitelist: true,
    forbidUnknownValues: true,
    stopAtFirstError: true,
  });
  if (errors.length > 0) {
    throw new ConfigurationError(errors.flatMap((error) => Object.values(error.constraints ?? {})));
  }
  return env;
}
