import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { Response } from 'express';
import { Public } from '../auth/public.decorator';
import { HeraldMetrics } from './herald-metrics';

/** `GET /metrics`: Prometheus text, no token (expose it to the scraper only). */
@ApiTags('operations')
@Public()
@SkipThrottle({ default: true, ip: true })
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: HeraldMetrics) {}

  @Get()
  @ApiOperation({ summary: 'Prometheus metrics (text exposition format)' })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'See docs/OPERATIONS.md for every metric', type: String })
  @Header('Cache-Control', 'no-store')
  async scrape(@Res() response: Response): Promise<void> {
    response.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  }
}
