import { isTransientStorageError } from './storage-errors';

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
