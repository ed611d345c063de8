import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiResponse } from '@nestjs/swagger';

/** Every error answer: what HttpExceptionFilter writes. */
export class ErrorBody {
  @ApiProperty({ example: 400 })
  statusCode: number;

  @ApiProperty({ example: 'Bad Request' })
  error: string;

  @ApiProperty({ example: 'limit must not be greater than 100' })
  message: string;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input; the message names each bad field',
  401: 'Missing, invalid or expired token (or ticket)',
  403: 'The token lacks the role, or names another tenant',
  404: 'Not found (or not the caller’s)',
  409: 'A limit is reached (the message names it), such as TOPICS_MAX_PER_USER',
  413: 'Body larger than HTTP_MAX_BODY_BYTES',
  429: 'Rate limit or stream cap reached; see Retry-After',
  503: 'RabbitMQ or storage unavailable for now; retry later',
};

/** Declares the error answers of a route, all with the ErrorBody shape. */
export function ApiErrors(...statuses: (keyof typeof DESCRIPTIONS)[]) {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({ status, description: DESCRIPTIONS[status], type: ErrorBody }),
    ),
  );
}
