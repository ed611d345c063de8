import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import type { Response } from 'express';
import { STATUS_CODES } from 'node:http';
import { Observable, throwError } from 'rxjs';
import { DomainError, DomainErrorKind } from './domain-error';

const STATUS_OF_KIND: Record<DomainErrorKind, number> = {
  invalid: HttpStatus.BAD_REQUEST,
  unauthenticated: HttpStatus.UNAUTHORIZED,
  forbidden: HttpStatus.FORBIDDEN,
  'not-found': HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  unavailable: HttpStatus.SERVICE_UNAVAILABLE,
};

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

/** body-parser and friends throw http-errors: `expose` marks a message safe for the client. */
function isExposedHttpError(error: unknown): error is { status: number; message: string } {
  const candidate = error as { status?: unknown; expose?: unknown } | null;
  return typeof candidate?.status === 'number' && candidate.expose === true;
}

function body(statusCode: number, message: string): ErrorBody {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message };
}

/**
 * The one place errors become HTTP answers: `{ statusCode, error, message }`, message a string.
 * Unexpected errors are logged with their stack and answered 500 without detail.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(HttpExceptionFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void | Observable<never> {
    // Message handlers: the transport decides (dead letter, retry), so it needs the error itself.
    if (host.getType() !== 'http') return throwError(() => exception);
    const response = host.switchToHttp().getResponse<Response>();
    const answer = this.toBody(exception);
    if (response.headersSent) {
      // A stream already under way (SSE): all that is left is to end it.
      response.end();
      return;
    }
    response.status(answer.statusCode).json(answer);
  }

  private toBody(exception: unknown): ErrorBody {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const message =
        typeof response === 'string'
          ? response
          : ((response as { message?: string | string[] }).message ?? exception.message);
      return body(status, Array.isArray(message) ? message.join('; ') : message);
    }
    if (exception instanceof DomainError) {
      return body(STATUS_OF_KIND[exception.kind], exception.message);
    }
    if (isExposedHttpError(exception) && exception.status < 500) {
      return body(exception.status, exception.message);
    }
    this.logger.error(
      exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
    );
    return body(HttpStatus.INTERNAL_SERVER_ERROR, 'Internal server error');
  }
}
