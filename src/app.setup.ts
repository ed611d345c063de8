import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';
import { rejectMalformedInput } from './common/malformed-input.middleware';
import { HeraldConfig } from './config/herald-config';
import { serveDemoAssets } from './demo/demo-assets';
import { serveOpenApi } from './openapi/openapi';
import { RATE_LIMIT_HEADERS } from './auth/rate-limit.guards';

const API_PREFIX = 'api/v1';

/** What every Herald app needs beyond its modules; shared by main.ts and the e2e tests. */
export function configureApp(app: INestApplication): INestApplication {
  const config = app.get(HeraldConfig).http;
  const express = app as NestExpressApplication;
  app.setGlobalPrefix(API_PREFIX, {
    exclude: ['health/{*path}', 'metrics', 'docs', 'docs/{*path}', '/'],
  });
  if (config.trustProxy) express.set('trust proxy', trustProxy(config.trustProxy));
  // Larger bodies are refused with 413 before they are parsed.
  express.useBodyParser('json', { limit: config.maxBodyBytes });
  express.useBodyParser('urlencoded', { limit: config.maxBodyBytes, extended: false });
  app.use(rejectMalformedInput);
  app.use(helmet());
  if (config.corsOrigins.length > 0) {
    const anyOrigin = config.corsOrigins.includes('*');
    app.enableCors({
      origin: anyOrigin ? true : config.corsOrigins,
      // The stream session cookie (withCredentials) goes to listed origins only, never to `*`.
      credentials: !anyOrigin,
      exposedHeaders: RATE_LIMIT_HEADERS,
      maxAge: 600,
    });
  }
  serveOpenApi(app);
  serveDemoAssets(express);
  return app;
}

/** Express's `trust proxy`: a hop count, `true`, or addresses and names like `loopback`. */
function trustProxy(value: string): number | boolean | string {
  if (/^\d+$/.test(value)) return Number(value);
  return value === 'true' ? true : value;
}
