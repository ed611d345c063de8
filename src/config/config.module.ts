import { Global, Module } from '@nestjs/common';
import { ConfigModule as NestConfigModule } from '@nestjs/config';
import { HeraldConfig, loadConfig } from './herald-config';

/**
 * Reads `.env` (when present) into the process environment, then validates it once into
 * HeraldConfig. Tests replace it with `overrideProvider(HeraldConfig).useValue(loadConfig({...}))`.
 */
@Global()
@Module({
  imports: [NestConfigModule.forRoot({ cache: true })],
  providers: [{ provide: HeraldConfig, useFactory: () => loadConfig(process.env) }],
  exports: [HeraldConfig],
})
export class ConfigModule {}
