import { applyDecorators, Controller } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/roles.decorator';
import { ApiErrors } from '../openapi/api-errors';
import { BEARER } from '../openapi/openapi';

/**
 * An admin controller under `/api/v1/<path>`: role `admin` required, and in the OpenAPI document
 * under "admin" with the bearer scheme and the errors every admin route can answer.
 */
export function AdminController(path: string) {
  return applyDecorators(
    Controller(path),
    Roles('admin'),
    ApiTags('admin'),
    ApiBearerAuth(BEARER),
    ApiErrors(401, 403, 429),
  );
}
