import { Controller, Get, Inject, Res, ServiceUnavailableException } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import {
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { SkipThrottle } from '@nestjs/throttler';
import type { Response } from 'express';
import { Public } from '../auth/public.decorator';
import { Database } from '../database/database';
import { AmqpServer } from '../messaging/amqp-server';
import { RedisServer } from '../messaging/redis-server';

/** How long readiness waits for storage before calling it down. */
const STORAGE_TIMEOUT_MS = 2000;

class HealthResponse {
  @ApiProperty({ enum: ['ok'], example: 'ok' })
  status: 'ok';
}

/** Terminus's answer: `status` and, per dependency, `{ status: 'up' | 'down', … }`. */
class ReadinessResponse {
  @ApiProperty({ enum: ['ok', 'error'], example: 'ok' })
  status: 'ok' | 'error';

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'Every dependency and its state',
    example: { storage: { status: 'up', engine: 'postgres' }, rabbitmq: { status: 'up' } },
  })
  details: Record<string, unknown>;

  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true })
  info?: Record<string, unknown>;

  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true })
  error?: Record<string, unknown>;
}

/** Probes are never rate limited. */
@ApiTags('health')
@Public()
@SkipThrottle({ default: true, ip: true })
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: Database,
    private readonly ingest: AmqpServer,
    @Inject(RedisServer) private readonly redis: RedisServer | null,
  ) {}

  /** The process is up and serving HTTP; says nothing of its dependencies. */
  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process is up and serving HTTP' })
  @ApiOkResponse({ type: HealthResponse })
  live(): HealthResponse {
    return { status: 'ok' };
  }

  /**
   * 200 when storage answers and the RabbitMQ consumer runs (with REDIS_URL, whether Redis is read
   * is reported beside, without failing it); 503 otherwise, which takes the
   * instance out of a load balancer until it recovers by itself (it reconnects every second).
   */
  @Get('ready')
  @ApiOperation({ summary: 'Readiness: storage reachable, RabbitMQ connected, consumer running' })
  @ApiOkResponse({ type: ReadinessResponse })
  @ApiServiceUnavailableResponse({ type: ReadinessResponse, description: 'A dependency is down' })
  async ready(@Res({ passthrough: true }) response: Response): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => this.storage(),
        () => this.broker(),
        ...(this.redis ? [() => this.redisConsumer(this.redis!)] : []),
      ]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      response.status(503);
      return error.getResponse() as HealthCheckResult;
    }
  }

  private async storage(): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check('storage');
    const engine = this.database.kind;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer within 2 s')), STORAGE_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.database.ping(), timeout]);
      return indicator.up({ engine });
    } catch (error) {
      return indicator.down({ engine, message: (error as Error).message });
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Redis is an optional way in: an instance that cannot read it still serves its streams and
   * RabbitMQ, so it stays in rotation; the answer says whether it reads (and the metric
   * herald_redis_reading).
   */
  private redisConsumer(redis: RedisServer): HealthIndicatorResult {
    const indicator = this.indicators.check('redis');
    return redis.consuming
      ? indicator.up({ reading: true })
      : indicator.up({ reading: false, message: 'not connected, or not reading the stream yet' });
  }

  private broker(): HealthIndicatorResult {
    const indicator = this.indicators.check('rabbitmq');
    return this.ingest.consuming
      ? indicator.up()
      : indicator.down({ message: 'not connected, or not consuming yet' });
  }
}
