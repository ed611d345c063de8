import { BadRequestException, ValidationPipe } from '@nestjs/common';
import { describeValidationErrors, VALIDATION_OPTIONS } from './validation';

/** Validates every DTO; a 400 names each bad field ("limit must not be greater than 100"). */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    ...VALIDATION_OPTIONS,
    transform: true,
    exceptionFactory: (errors) =>
      new BadRequestException(describeValidationErrors(errors).join('; ')),
  });
}
