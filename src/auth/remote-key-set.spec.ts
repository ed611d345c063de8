import { errors, jwtVerify, type JWK } from 'jose';
import { eventually } from '../../test/support/eventually';
import {
  jwksToken,
  JwksServer,
  SigningKey,
  signingKey,
  startJwksServer,
} from '../../test/support/jwks';
import { UnavailableError } from '../common/domain-error';
import { RemoteKeySet, RemoteKeySetOptions } from './remote-key-set';

const MINUTE = 60_000;

describe('RemoteKeySet (a real JWKS endpoint on 127.0.0.1)', () => {
  let key1: SigningKey;
  let key2: SigningKey;
  let jwks: JwksServer;
  let keySet: RemoteKeySet;
  let now: number;
  let logger: { warn: jest.Mock; log: jest.Mock };

  const start = (options: Partial<RemoteKeySetOptions> = {}) => {
    keySet = new RemoteKeySet(new URL(jwks.url), {
      timeoutMs: 300,
      maxAgeMs: 10 * MINUTE,
      cooldownMs: 30_000,
      retryMinMs: 1_000,
      retryMaxMs: 30_000,
      warnEveryMs: 5 * MINUTE,
      maxBytes: 64 * 1024,
      logger,
      now: () => now,
      ...options,
    });
  };
  const verify = async (key: SigningKey, kid?: string) => {
    const { payload } = await jwtVerify(await jwksToken(key, kid), keySet.getKey, {
      algorithms: ['ES256'],
    });
    return payload.sub;
  };
  /** The endpoint has been asked `requests` times, and the last fetch has settled. */
  const refreshed = (requests: number) =>
    eventually(() => expect([jwks.requests, keySet.refreshing]).toEqual([requests, false]));

  beforeAll(async () => {
    [key1, key2] = await Promise.all([signingKey('key-1'), signingKey('key-2')]);
  });

  beforeEach(async () => {
    jwks = await startJwksServer([key1.publicJwk]);
    now = Date.UTC(2026, 0, 1);
    logger = { warn: jest.fn(), log: jest.fn() };
    start();
  });

  afterEach(async () => {
    keySet.close();
    await jwks.close();
  });

  it('verifies with the fetched set, fetching it once for concurrent and later tokens', async () => {
    const subjects = await Promise.all([verify(key1), verify(key1), verify(key1)]);
    expect(subjects).toEqual(['alice', 'alice', 'alice']);
    now += 9 * MINUTE;
    await expect(verify(key1)).resolves.toBe('alice');
    expect(jwks.requests).toBe(1);
  });

  it.each(['down', 'garbage', 'hang'] as const)(
    'keeps verifying with the last good set once it expired and the endpoint is %s',
    async (mode) => {
      await verify(key1);
      jwks.mode = mode;
      now += 11 * MINUTE;
      await expect(verify(key1)).resolves.toBe('alice');
      await refreshed(2);
      for (let i = 0; i < 20; i += 1) await expect(verify(key1)).resolves.toBe('alice');
      expect(logger.warn).toHaveBeenCalledTimes(1);
      expect(logger.warn.mock.calls[0][0]).toMatch(
        /^Key set http:\/\/127\.0\.0\.1:\d+\/\.well-known\/jwks\.json cannot be fetched \(.+\); 1 attempt since .+; verifying with the set fetched 2026-01-01T00:00:00\.000Z; retrying$/,
      );
    },
  );

  it('refuses, as jose does, a token whose signature does not match the known key', async () => {
    await verify(key1);
    jwks.mode = 'down';
    now += 11 * MINUTE;
    // key-2's signature, key-1's id.
    await expect(verify(key2, 'key-1')).rejects.toBeInstanceOf(
      errors.JWSSignatureVerificationFailed,
    );
  });

  it('answers unavailable for a key id it does not hold while the endpoint fails', async () => {
    await verify(key1);
    jwks.mode = 'down';
    now += 31_000; // past the cool-down: an unknown key id refetches
    await expect(verify(key2)).rejects.toBeInstanceOf(UnavailableError);
    expect(jwks.requests).toBe(2);
    // During the pause after the failure: no fetch, still unavailable, and the known key works.
    await expect(verify(key2)).rejects.toBeInstanceOf(UnavailableError);
    await expect(verify(key1)).resolves.toBe('alice');
    expect(jwks.requests).toBe(2);
  });

  it('answers unknown key for a key id missing from a set fetched moments ago, without refetching', async () => {
    await verify(key1);
    jwks.mode = 'down';
    await expect(verify(key2)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(jwks.requests).toBe(1);
  });

  it('picks up a rotated key: an unknown key id refetches once the cool-down has passed', async () => {
    await verify(key1);
    jwks.keys = [key2.publicJwk];
    now += 31_000;
    await expect(verify(key2)).resolves.toBe('alice');
    await expect(verify(key1)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(jwks.requests).toBe(2);
  });

  it('answers unavailable on a fresh start with the endpoint down, retrying with growing pauses', async () => {
    jwks.mode = 'down';
    await expect(verify(key1)).rejects.toBeInstanceOf(UnavailableError);
    await expect(verify(key1)).rejects.toBeInstanceOf(UnavailableError);
    expect(jwks.requests).toBe(1);
    const pauses = [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000];
    for (const [index, pause] of pauses.entries()) {
      now += pause - 1;
      await expect(verify(key1)).rejects.toBeInstanceOf(UnavailableError);
      expect(jwks.requests).toBe(index + 1);
      now += 1;
      await expect(verify(key1)).rejects.toBeInstanceOf(UnavailableError);
      expect(jwks.requests).toBe(index + 2);
    }
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0][0]).toContain(
      'no set fetched yet: tokens that need it are answered 503',
    );
    jwks.mode = 'up';
    now += 30_000;
    await expect(verify(key1)).resolves.toBe('alice');
    expect(logger.log).toHaveBeenCalledWith(
      expect.stringMatching(/fetched again after 8 attempts failed$/),
    );
  });

  it('warns about a lasting outage once per warning interval, not per attempt', async () => {
    await verify(key1);
    jwks.mode = 'down';
    now += 11 * MINUTE;
    for (let attempt = 1; attempt <= 61; attempt += 1) {
      await expect(verify(key1)).resolves.toBe('alice');
      await refreshed(1 + attempt);
      now += 30_000;
    }
    // 61 failed attempts over 30 minutes: a warning for the first, then one per 5 minutes.
    expect(logger.warn).toHaveBeenCalledTimes(7);
    expect(logger.warn.mock.calls[6][0]).toContain('61 attempts since 2026-01-01T00:11:00.000Z');
  });

  it.each([
    ['an empty key list', () => (jwks.keys = [])],
    ['a key without kty', () => (jwks.keys = [{ kid: 'x' } as JWK])],
    ['garbage', () => (jwks.mode = 'garbage')],
  ])('does not take %s for a key set', async (_, breakIt) => {
    await verify(key1);
    breakIt();
    now += 11 * MINUTE;
    await verify(key1);
    await refreshed(2);
    await expect(verify(key1)).resolves.toBe('alice');
    expect(logger.warn).toHaveBeenCalledTimes(1);
  });

  it('refuses a key set larger than its limit', async () => {
    start({ maxBytes: 100 });
    await expect(verify(key1)).rejects.toBeInstanceOf(UnavailableError);
    expect(logger.warn.mock.calls[0][0]).toContain('larger than 100 bytes');
  });

  it('names a timeout as such', async () => {
    jwks.mode = 'hang';
    await expect(verify(key1)).rejects.toBeInstanceOf(UnavailableError);
    expect(logger.warn.mock.calls[0][0]).toContain('no answer within 300 ms');
  });

  it('fetches ahead when asked, and ends a fetch in flight on close, quietly', async () => {
    keySet.prefetch();
    await refreshed(1);
    await expect(verify(key1)).resolves.toBe('alice');
    expect(jwks.requests).toBe(1);
    jwks.mode = 'hang';
    start({ timeoutMs: 10_000 });
    keySet.prefetch();
    await eventually(() => expect(jwks.requests).toBe(2));
    keySet.close();
    await refreshed(2);
    expect(logger.warn).not.toHaveBeenCalled();
  });
});
