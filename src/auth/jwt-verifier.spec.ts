import { Logger } from '@nestjs/common';
import { SignJWT } from 'jose';
import { eventually } from '../../test/support/eventually';
import {
  jwksToken,
  JwksServer,
  SigningKey,
  signingKey,
  startJwksServer,
} from '../../test/support/jwks';
import { UnavailableError } from '../common/domain-error';
import { loadConfig } from '../config/herald-config';
import { InvalidTokenError } from './invalid-token.error';
import { JwtVerifier } from './jwt-verifier';

describe('JwtVerifier with AUTH_JWKS_URL', () => {
  let key1: SigningKey;
  let key2: SigningKey;
  let jwks: JwksServer;
  let verifier: JwtVerifier;
  let warn: jest.SpyInstance;

  beforeAll(async () => {
    [key1, key2] = await Promise.all([signingKey('key-1'), signingKey('key-2')]);
  });

  beforeEach(async () => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jwks = await startJwksServer([key1.publicJwk]);
    verifier = new JwtVerifier(loadConfig({ NODE_ENV: 'test', AUTH_JWKS_URL: jwks.url }));
  });

  afterEach(async () => {
    verifier.onModuleDestroy();
    await jwks.close();
    warn.mockRestore();
  });

  it('accepts a token signed with a key of the set', async () => {
    await expect(verifier.verify(await jwksToken(key1))).resolves.toMatchObject({
      userId: 'alice',
      roles: [],
    });
  });

  it('fetches the set at start, so that the first token need not wait', async () => {
    verifier.onModuleInit();
    await eventually(() => expect(jwks.requests).toBe(1));
    await verifier.verify(await jwksToken(key1));
    expect(jwks.requests).toBe(1);
  });

  it('answers unavailable (503), not invalid, while no key set could be fetched', async () => {
    jwks.mode = 'down';
    const refused = verifier.verify(await jwksToken(key1));
    await expect(refused).rejects.toBeInstanceOf(UnavailableError);
    await expect(refused).rejects.toThrow(
      "Token keys unavailable: the identity provider's key set",
    );
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('refuses a bad signature against the known set as an invalid token (401)', async () => {
    await verifier.verify(await jwksToken(key1));
    jwks.mode = 'down';
    await expect(verifier.verify(await jwksToken(key2, 'key-1'))).rejects.toThrow(
      new InvalidTokenError('bad signature'),
    );
  });

  it('refuses a key id that a just-fetched set does not hold as an invalid token (401)', async () => {
    await expect(verifier.verify(await jwksToken(key2))).rejects.toThrow(
      new InvalidTokenError('no matching key'),
    );
  });

  it('refuses what needs no key while the set is unreachable: malformed, HS256', async () => {
    jwks.mode = 'down';
    const hs256 = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('x'.repeat(32)));
    for (const [token, reason] of [
      ['not.a.jwt', 'malformed'],
      [hs256, 'algorithm not allowed'],
    ]) {
      await expect(verifier.verify(token)).rejects.toThrow(new InvalidTokenError(reason));
    }
    expect(jwks.requests).toBe(0);
  });
});
