import { Global, Module } from '@nestjs/common';
import { HeraldMetrics } from './herald-metrics';
import { MetricsController } from './metrics.controller';

/** Global: any module counts what it does through HeraldMetrics. */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [HeraldMetrics],
  exports: [HeraldMetrics],
})
export class MetricsModule {}
