import { exportSPKI, generateKeyPair, KeyLike, SignJWT } from 'jose';
import { eventually } from './support/eventually';
import { RunningHerald, startHerald, TEST_JWT_SECRET } from './support/herald';
import { api } from './support/http';
import { jwksToken, JwksServer, SigningKey, signingKey, startJwksServer } from './support/jwks';
import { unsignedToken, userToken } from './support/tokens';

const now = () => Math.floor(Date.now() / 1000);

describe('authentication with the HS256 secret', () => {
  let herald: RunningHerald;
  const inbox = '/api/v1/notifications';

  beforeAll(async () => {
    herald = await startHerald({ storage: 'pglite' });
  });

  afterAll(() => herald?.close());

  it('serves /health/live without a token', async () => {
    expect(await api(herald, 'GET', '/health/live')).toMatchObject({
      status: 200,
      body: { status: 'ok' },
    });
  });

  it('accepts a valid token', async () => {
    const response = await api(herald, 'GET', inbox, { token: await userToken('alice') });
    expect(response.status).toBe(200);
  });

  it('refuses a request without a token, saying how to authenticate', async () => {
    const response = await api(herald, 'GET', inbox);
    expect(response.status).toBe(401);
    expect(response.body).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      message: 'Missing bearer token',
    });
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="herald"');
  });

  it.each([
    [
      'a wrong signature',
      () => userToken('alice', { secret: 'another-secret-another-secret-xx' }),
      'bad signature',
    ],
    ['an expired token', () => userToken('alice', { expiresIn: -120 }), 'expired'],
    ['alg: none', () => unsignedToken('alice'), 'algorithm not allowed'],
    ['garbage', () => 'not.a.jwt', 'malformed'],
    ['a token without sub', async () => tokenWithout('sub'), 'sub claim rejected'],
    [
      'roles that are not a list',
      async () => tokenWith({ roles: 'admin' }),
      'roles must be an array of strings',
    ],
    ['a user id with a line break', async () => tokenWith({ sub: 'a\nevent: x' }), 'bad sub'],
  ])('refuses %s', async (_, token, reason) => {
    const response = await api(herald, 'GET', inbox, { token: await token() });
    expect(response.status).toBe(401);
    expect(response.body.message).toBe(`Invalid token: ${reason}`);
    expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  });

  it('tolerates 30 s of clock skew on expiry, not more', async () => {
    const justExpired = await userToken('alice', { expiresIn: -10 });
    expect((await api(herald, 'GET', inbox, { token: justExpired })).status).toBe(200);
    const longExpired = await userToken('alice', { expiresIn: -45 });
    expect((await api(herald, 'GET', inbox, { token: longExpired })).status).toBe(401);
  });
});

describe('authentication with issuer and audience', () => {
  let herald: RunningHerald;

  beforeAll(async () => {
    herald = await startHerald({
      storage: 'pglite',
      env: { AUTH_JWT_ISSUER: 'https://id.example', AUTH_JWT_AUDIENCE: 'herald' },
    });
  });

  afterAll(() => herald?.close());

  it.each([
    [{ issuer: 'https://id.example', audience: 'herald' }, 200],
    [{ issuer: 'https://evil.example', audience: 'herald' }, 401],
    [{ issuer: 'https://id.example', audience: 'another-app' }, 401],
    [{}, 401],
  ])('with %j answers %i', async (claims, status) => {
    const token = await userToken('alice', claims);
    expect((await api(herald, 'GET', '/api/v1/notifications', { token })).status).toBe(status);
  });
});

describe('authentication with an RS256 public key (PEM)', () => {
  let herald: RunningHerald;
  let privateKey: KeyLike;
  let publicPem: string;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    privateKey = pair.privateKey;
    publicPem = await exportSPKI(pair.publicKey);
    // No secret: the public key is the only key, as in a deployment behind an identity provider.
    herald = await startHerald({
      storage: 'pglite',
      env: { AUTH_JWT_SECRET: '', AUTH_JWT_PUBLIC_KEY: publicPem },
    });
  });

  afterAll(() => herald?.close());

  it('accepts a token signed with the private key', async () => {
    const token = await new SignJWT({ tenant: 'acme' })
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject('alice')
      .setExpirationTime(now() + 60)
      .sign(privateKey);
    expect((await api(herald, 'GET', '/api/v1/notifications', { token })).status).toBe(200);
  });

  it('refuses HS256 tokens, even one "signed" with the public key (algorithm confusion)', async () => {
    const confused = await userToken('alice', { secret: publicPem });
    const response = await api(herald, 'GET', '/api/v1/notifications', { token: confused });
    expect(response).toMatchObject({
      status: 401,
      body: { message: 'Invalid token: algorithm not allowed' },
    });
  });
});

describe('authentication with an ES256 key set (JWKS)', () => {
  let herald: RunningHerald;
  let key1: SigningKey;
  let key2: SigningKey;
  let jwks: JwksServer;
  const inbox = '/api/v1/notifications';

  beforeAll(async () => {
    [key1, key2] = await Promise.all([signingKey('key-1'), signingKey('key-2')]);
    jwks = await startJwksServer([key1.publicJwk]);
    herald = await startHerald({
      storage: 'pglite',
      env: { AUTH_JWT_SECRET: '', AUTH_JWKS_URL: jwks.url },
    });
  });

  afterAll(async () => {
    await herald?.close();
    await jwks?.close();
  });

  it('accepts tokens signed with a key of the set, fetching the set once (at start)', async () => {
    const token = await jwksToken(key1);
    for (let i = 0; i < 3; i += 1) {
      expect((await api(herald, 'GET', inbox, { token })).status).toBe(200);
    }
    expect(jwks.requests).toBe(1);
  });

  it('refuses a token whose key is not in the set', async () => {
    const response = await api(herald, 'GET', inbox, { token: await jwksToken(key2) });
    expect(response).toMatchObject({
      status: 401,
      body: { message: 'Invalid token: no matching key' },
    });
  });

  it('keeps verifying with the set it holds while the endpoint is down', async () => {
    jwks.mode = 'down';
    try {
      const token = await jwksToken(key1);
      expect((await api(herald, 'GET', inbox, { token })).status).toBe(200);
      // key-2's signature under key-1's id: known key, bad signature.
      const forged = await jwksToken(key2, 'key-1');
      expect(await api(herald, 'GET', inbox, { token: forged })).toMatchObject({
        status: 401,
        body: { message: 'Invalid token: bad signature' },
      });
    } finally {
      jwks.mode = 'up';
    }
  });
});

// Expiry of the held set, the cool-down for unknown key ids and the retry pauses take minutes;
// src/auth/remote-key-set.spec.ts runs them on a clock of its own.
describe('authentication with a JWKS endpoint that is down at start', () => {
  let herald: RunningHerald;
  let key: SigningKey;
  let jwks: JwksServer;
  const inbox = '/api/v1/notifications';

  beforeAll(async () => {
    key = await signingKey('key-1');
    jwks = await startJwksServer([key.publicJwk]);
    jwks.mode = 'down';
    herald = await startHerald({
      storage: 'pglite',
      env: { AUTH_JWT_SECRET: '', AUTH_JWKS_URL: jwks.url },
    });
  });

  afterAll(async () => {
    await herald?.close();
    await jwks?.close();
  });

  it('answers 503 (the token may be valid) until the key set can be fetched, then 200', async () => {
    const token = await jwksToken(key);
    const response = await api(herald, 'GET', inbox, { token });
    expect(response.status).toBe(503);
    expect(response.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message:
        "Token keys unavailable: the identity provider's key set cannot be fetched; try again later",
    });
    expect(response.headers.get('www-authenticate')).toBeNull();
    // No restart: the next fetch, after a pause of 1 s (doubling per failure), succeeds.
    jwks.mode = 'up';
    await eventually(
      async () => expect((await api(herald, 'GET', inbox, { token })).status).toBe(200),
      { intervalMs: 250 },
    );
  });

  it('still refuses what needs no key with 401', async () => {
    jwks.mode = 'down';
    const response = await api(herald, 'GET', inbox, { token: 'not.a.jwt' });
    expect(response).toMatchObject({ status: 401, body: { message: 'Invalid token: malformed' } });
  });
});

function tokenWithout(claim: 'sub'): Promise<string> {
  return tokenWith({ [claim]: undefined });
}

/** A HS256 token with the test secret and arbitrary (possibly invalid) claims. */
async function tokenWith(claims: Record<string, unknown>): Promise<string> {
  const payload = { sub: 'alice', exp: now() + 60, ...claims };
  return new SignJWT(JSON.parse(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));
}

describe('development sign-in (/api/v1/dev)', () => {
  it('is 404 when Herald verifies with a configured secret or key', async () => {
    const herald = await startHerald({ storage: 'postgres' });
    try {
      expect((await api(herald, 'GET', '/api/v1/dev')).status).toBe(404);
      const issue = await api(herald, 'POST', '/api/v1/dev/tokens', { body: { userId: 'eve' } });
      expect(issue.status).toBe(404);
    } finally {
      await herald.close();
    }
  });

  it('signs a working token for any user id on the development secret, and checks the input', async () => {
    const herald = await startHerald({ storage: 'postgres', env: { AUTH_JWT_SECRET: undefined } });
    try {
      expect(await api(herald, 'GET', '/api/v1/dev')).toMatchObject({
        status: 200,
        body: { developmentAuth: true },
      });
      const issued = await api(herald, 'POST', '/api/v1/dev/tokens', {
        body: { userId: 'ada', admin: true },
      });
      expect(issued.status).toBe(201);
      const stats = await api(herald, 'GET', '/api/v1/admin/stats', { token: issued.body.token });
      expect(stats.status).toBe(200);
      for (const body of [
        {},
        { userId: 'has space' },
        { userId: 'a\nb' },
        { userId: 'x', admin: 'yes' },
      ]) {
        const refused = await api(herald, 'POST', '/api/v1/dev/tokens', { body });
        expect([body, refused.status]).toEqual([body, 400]);
      }
    } finally {
      await herald.close();
    }
  });
});
