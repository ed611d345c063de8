import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

export const BEARER = 'bearer';

/** The OpenAPI document of every HTTP route, built from the controllers' decorators. */
function openApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Herald')
    .setDescription(
      'Notifications for NestJS teams: RabbitMQ in, per-user inbox, Server-Sent Events out. ' +
        'User routes act for the token’s `sub` (and `tenant`); admin routes need the `admin` role.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, BEARER)
    .build();
  return SwaggerModule.createDocument(app, config);
}

/** Swagger UI at /docs, the document at /docs/openapi.json. */
export function serveOpenApi(app: INestApplication): void {
  SwaggerModule.setup('docs', app, () => openApiDocument(app), {
    jsonDocumentUrl: 'docs/openapi.json',
    yamlDocumentUrl: 'docs/openapi.yaml',
    customSiteTitle: 'Herald API',
  });
}
