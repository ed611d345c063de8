import type { INestApplication } from '@nestjs/common';

export const API_PREFIX = 'api/v1';

/** What every Herald app needs beyond its modules; shared by main.ts and the e2e tests. */
export function configureApp(app: INestApplication): INestApplication {
  app.setGlobalPrefix(API_PREFIX, {
    exclude: ['health/{*path}', 'metrics', 'docs', 'docs/{*path}', '/'],
  });
  return app;
}
