import { UnavailableError } from '../common/domain-error';
import {
  isTransientStorageError,
  StorageCapacityError,
  StorageError,
  translateStorageError,
} from './storage-errors';

const withCode = (code: string) => Object.assign(new Error('x'), { code });

describe('isTransientStorageError', () => {
  it.each([
    withCode('ECONNREFUSED'),
    withCode('57P01'),
    withCode('08006'),
    withCode('53300'),
    withCode('40P01'),
    new Error('Connection terminated unexpectedly'),
    Object.assign(new Error('Failed query'), { cause: withCode('ECONNRESET') }),
  ])('retries %p', (error) => {
    expect(isTransientStorageError(error)).toBe(true);
  });

  it.each([withCode('23505'), withCode('22P02'), new Error('syntax error'), undefined])(
    'does not retry %p',
    (error) => {
      expect(isTransientStorageError(error)).toBe(false);
    },
  );
});

describe('translateStorageError', () => {
  const drizzleError = (cause: unknown) =>
    Object.assign(
      new Error(`Failed query: INSERT INTO notifications VALUES ($1)\nparams: ${'x'.repeat(5000)}`),
      { cause },
    );
  const translated = (error: unknown) => {
    try {
      translateStorageError(error);
    } catch (thrown) {
      return thrown as Error;
    }
    throw new Error('translateStorageError returned');
  };

  it('says a transaction was too big (out of shared memory) as a capacity error', () => {
    const error = translated(
      drizzleError(Object.assign(new Error('out of shared memory'), { code: '53200' })),
    );
    expect(error).toBeInstanceOf(StorageCapacityError);
    expect(error).toBeInstanceOf(UnavailableError); // retried like an outage if it cannot split
    expect(error.message).toBe('too much for one transaction: 53200 out of shared memory');
  });

  it('keeps the SQL text and its parameters out of every message', () => {
    for (const cause of [
      withCode('ECONNRESET'),
      Object.assign(new Error('invalid input syntax for type json\nDETAIL: …'), { code: '22P02' }),
    ]) {
      const error = translated(drizzleError(cause));
      expect(error.message).not.toMatch(/INSERT|params|xxx/);
      expect(error.message.length).toBeLessThan(250);
    }
    expect(translated(drizzleError(withCode('22P02')))).toBeInstanceOf(StorageError);
    expect((translated(drizzleError(withCode('22P02'))) as StorageError).code).toBe('22P02');
  });
});
