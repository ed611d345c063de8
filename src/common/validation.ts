import type { ClassConstructor } from 'class-transformer';
import { plainToInstance } from 'class-transformer';
import { ValidationError, validateSync } from 'class-validator';
import { InvalidInputError } from './domain-error';

/** Flattens nested class-validator errors into "path.to.field must …" sentences. */
export function describeValidationErrors(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) =>
      // Messages start with the bare property name ("limit must …"): show the full path.
      message.startsWith(`${error.property} `)
        ? `${path}${message.slice(error.property.length)}`
        : message.includes(error.property)
          ? message
          : `${path}: ${message}`,
    );
    return [...own, ...describeValidationErrors(error.children ?? [], path)];
  });
}

/**
 * The options every DTO and command is validated with: unknown fields are errors, not ignored;
 * one problem per field (constraints run bottom-up: put the type check last).
 */
export const VALIDATION_OPTIONS = {
  stopAtFirstError: true,
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
} as const;

/** Builds a validated instance of `type` from untrusted input, or throws InvalidInputError. */
export function validateInput<T extends object>(type: ClassConstructor<T>, input: unknown): T {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidInputError(['the body must be a JSON object']);
  }
  const instance = plainToInstance(type, input);
  const problems = describeValidationErrors(validateSync(instance, VALIDATION_OPTIONS));
  if (problems.length > 0) throw new InvalidInputError(problems);
  return instance;
}
