import { ConfigurationError } from './environment';
import { DEVELOPMENT_JWT_SECRET, loadConfig } from './herald-config';

describe('loadConfig', () => {
  it('starts with no configuration at all, on defaults and the development secret', () => {
    const config = loadConfig({});
    expect(config).toEqual({
      env: 'development',
      port: 3000,
      host: '127.0.0.1',
      logLevel: 'info',
      amqp: {
        urls: ['amqp://guest:guest@127.0.0.1:5672'],
        exchange: 'notifications',
        prefix: '',
        prefetch: 1000,
        queueType: 'classic',
        singleActiveConsumer: false,
        maxMessageBytes: 262144,
        publishBuffer: 1000,
      },
      ingest: { maxAttempts: 12 },
      redis: { url: undefined, prefix: '', claimIdleMs: 60_000 },
      database: { url: undefined, schema: 'public', dataDir: './data' },
      auth: expect.objectContaining({
        secret: DEVELOPMENT_JWT_SECRET,
        usingDevelopmentSecret: true,
      }),
      sse: { heartbeatMs: 15000, maxStreamsPerUser: 10 },
      topics: { maxPerUser: 100 },
      http: {
        rateLimit: { perUser: 600, perIp: 1200 },
        maxBodyBytes: 262144,
        corsOrigins: [],
        trustProxy: undefined,
      },
    });
  });

  it('reads every variable of CONTRACT.md', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      PORT: '0',
      HOST: '0.0.0.0',
      AMQP_URL: 'amqp://a:5672, amqps://b:5671',
      AMQP_EXCHANGE: 'events',
      AMQP_PREFIX: 'ci-42.',
      AMQP_PREFETCH: '150',
      AMQP_QUEUE_TYPE: 'quorum',
      AMQP_SINGLE_ACTIVE_CONSUMER: 'true',
      AMQP_MAX_MESSAGE_BYTES: '65536',
      AMQP_PUBLISH_BUFFER: '10',
      INGEST_MAX_ATTEMPTS: '3',
      REDIS_URL: 'redis://cache:6379/2',
      REDIS_PREFIX: 'herald:',
      REDIS_CLAIM_IDLE_MS: '5000',
      DATABASE_URL: 'postgres://u@db/herald',
      DATABASE_SCHEMA: 'tenant_a',
      DATA_DIR: '/var/lib/herald',
      AUTH_JWT_SECRET: 'x'.repeat(32),
      AUTH_JWT_ISSUER: 'https://id.example',
      AUTH_JWT_AUDIENCE: 'herald',
      SSE_HEARTBEAT_MS: '5000',
      SSE_MAX_STREAMS_PER_USER: '3',
      TOPICS_MAX_PER_USER: '20',
      RATE_LIMIT_PER_USER: '60',
      RATE_LIMIT_PER_IP: '100',
      HTTP_MAX_BODY_BYTES: '4096',
      CORS_ORIGINS: 'https://app.example, http://localhost:5173',
      TRUST_PROXY: 'loopback',
      LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({
      env: 'production',
      port: 0,
      host: '0.0.0.0',
      logLevel: 'debug',
      amqp: {
        urls: ['amqp://a:5672', 'amqps://b:5671'],
        exchange: 'events',
        prefix: 'ci-42.',
        prefetch: 150,
        queueType: 'quorum',
        singleActiveConsumer: true,
        maxMessageBytes: 65536,
        publishBuffer: 10,
      },
      ingest: { maxAttempts: 3 },
      redis: { url: 'redis://cache:6379/2', prefix: 'herald:', claimIdleMs: 5000 },
      database: { url: 'postgres://u@db/herald', schema: 'tenant_a', dataDir: '/var/lib/herald' },
      auth: {
        secret: 'x'.repeat(32),
        issuer: 'https://id.example',
        audience: 'herald',
        usingDevelopmentSecret: false,
      },
      sse: { heartbeatMs: 5000, maxStreamsPerUser: 3 },
      topics: { maxPerUser: 20 },
      http: {
        rateLimit: { perUser: 60, perIp: 100 },
        maxBodyBytes: 4096,
        corsOrigins: ['https://app.example', 'http://localhost:5173'],
        trustProxy: 'loopback',
      },
    });
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: ' ', AMQP_PREFIX: '' })).toMatchObject({
      port: 3000,
      database: { url: undefined },
      amqp: { prefix: '' },
    });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT must be an integer number'],
    [{ PORT: '70000' }, 'PORT must not be greater than 65535'],
    [{ HOST: 'http://0.0.0.0' }, 'HOST must be an IP address or a host name'],
    [{ HOST: '[::1]' }, 'HOST must be an IP address or a host name'],
    [{ AMQP_URL: 'http://x' }, 'AMQP_URL must be one or more comma-separated amqp://'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL must be a postgres://'],
    [{ DATABASE_SCHEMA: 'Robert"); DROP' }, 'DATABASE_SCHEMA must be a lower-case SQL identifier'],
    [{ SSE_HEARTBEAT_MS: '10' }, 'SSE_HEARTBEAT_MS must not be less than 1000'],
    [{ AMQP_QUEUE_TYPE: 'stream' }, 'AMQP_QUEUE_TYPE must be one of the following values'],
    [{ AMQP_SINGLE_ACTIVE_CONSUMER: 'yes' }, 'AMQP_SINGLE_ACTIVE_CONSUMER must be true or false'],
    [{ AMQP_PREFETCH: '0' }, 'AMQP_PREFETCH must not be less than 1'],
    [{ REDIS_URL: 'http://cache' }, 'REDIS_URL must be a redis:// or rediss:// URL'],
    [{ REDIS_PREFIX: 'a b' }, 'REDIS_PREFIX must be at most 100 of'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of the following values'],
    [{ AUTH_JWT_SECRET: 'short' }, 'AUTH_JWT_SECRET must be at least 32 characters'],
    [{ CORS_ORIGINS: 'example.com' }, 'CORS_ORIGINS must be * or comma-separated http(s)://'],
    [{ RATE_LIMIT_PER_USER: '0' }, 'RATE_LIMIT_PER_USER must not be less than 1'],
    [{ TOPICS_MAX_PER_USER: '0' }, 'TOPICS_MAX_PER_USER must not be less than 1'],
    [{ TOPICS_MAX_PER_USER: '5000' }, 'TOPICS_MAX_PER_USER must not be greater than 1000'],
    [{ NODE_ENV: 'production' }, 'NODE_ENV=production needs AUTH_JWT_SECRET'],
    [
      { AUTH_JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----x', AUTH_JWKS_URL: 'https://id/jwks' },
      'set AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL, not both',
    ],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigurationError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('lists every bad variable at once', () => {
    expect(() => loadConfig({ PORT: '-1', LOG_LEVEL: 'x' })).toThrow(
      /PORT must not be less than 0[\s\S]*LOG_LEVEL must be one of/,
    );
  });

  it.each([
    [{}, '127.0.0.1'],
    [{ NODE_ENV: 'test' }, '127.0.0.1'],
    [{ HOST: '0.0.0.0' }, '0.0.0.0'],
    [{ HOST: '::' }, '::'],
    [{ AUTH_JWT_SECRET: 'x'.repeat(32) }, undefined],
    [{ AUTH_JWKS_URL: 'http://127.0.0.1:8080/jwks' }, undefined],
    [{ AUTH_JWT_SECRET: 'x'.repeat(32), HOST: '10.0.0.5' }, '10.0.0.5'],
    [{ AUTH_JWT_SECRET: 'x'.repeat(32), HOST: 'localhost' }, 'localhost'],
  ])(
    'listens on loopback only on the development secret, unless HOST says otherwise: %j',
    (env, host) => {
      expect(loadConfig(env).host).toBe(host);
    },
  );

  it('takes an http:// AUTH_JWKS_URL in development, only https:// in production', () => {
    const jwksUrl = 'http://127.0.0.1:8080/.well-known/jwks.json';
    expect(loadConfig({ AUTH_JWKS_URL: jwksUrl }).auth.jwksUrl).toBe(jwksUrl);
    expect(() => loadConfig({ NODE_ENV: 'production', AUTH_JWKS_URL: jwksUrl })).toThrow(
      new ConfigurationError([
        'AUTH_JWKS_URL must be an https:// URL with NODE_ENV=production: ' +
          'keys fetched over plain http can be replaced on the way',
      ]),
    );
    const https = 'https://id.example/.well-known/jwks.json';
    expect(loadConfig({ NODE_ENV: 'production', AUTH_JWKS_URL: https }).auth.jwksUrl).toBe(https);
  });

  it('accepts a PEM key with escaped newlines, as .env files carry it', () => {
    const config = loadConfig({
      AUTH_JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----',
    });
    expect(config.auth.publicKey).toBe(
      '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----',
    );
    expect(config.auth.secret).toBeUndefined();
    expect(config.auth.usingDevelopmentSecret).toBe(false);
  });
});
