import { RunningHerald, startHerald } from './support/herald';
import { eventually } from './support/eventually';
import { api } from './support/http';
import { SseClient } from './support/sse';
import { userToken } from './support/tokens';

/** Abuse limits over real HTTP: rate limits, the stream cap, body size, headers, CORS. */
describe('abuse limits', () => {
  let herald: RunningHerald;

  beforeAll(async () => {
    herald = await startHerald({
      storage: 'postgres',
      env: {
        RATE_LIMIT_PER_USER: '20',
        SSE_MAX_STREAMS_PER_USER: '2',
        HTTP_MAX_BODY_BYTES: '2048',
        CORS_ORIGINS: 'https://app.example',
      },
    });
  });

  afterAll(() => herald?.close());

  it('answers 429 with RateLimit headers and Retry-After past the per-user limit', async () => {
    const token = await userToken('busy');
    const remaining: (string | null)[] = [];
    // One budget across routes: alternating between two does not double it.
    for (let i = 0; i < 20; i += 1) {
      const path = i % 2 ? '/api/v1/notifications' : '/api/v1/notifications/unread-count';
      const answer = await api(herald, 'GET', path, { token });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('ratelimit-limit')).toBe('20');
      remaining.push(answer.headers.get('ratelimit-remaining'));
    }
    expect(remaining).toEqual(Array.from({ length: 20 }, (_, i) => String(19 - i)));

    const refused = await api(herald, 'GET', '/api/v1/notifications/unread-count', { token });
    expect(refused).toMatchObject({
      status: 429,
      body: {
        statusCode: 429,
        error: 'Too Many Requests',
        message: expect.stringMatching(/^Too many requests: at most 20 a minute per user; retry/),
      },
    });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60);

    // Another user is not affected.
    const other = await api(herald, 'GET', '/api/v1/notifications/unread-count', {
      token: await userToken('calm'),
    });
    expect(other.status).toBe(200);
  });

  it('holds the stream cap when many streams of one user open at once', async () => {
    // With tickets, as browsers open them: redeeming one is a database round trip, and answers
    // arriving together resume their requests in one turn of the event loop.
    const token = await userToken('rush');
    const tickets = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const answer = await api(herald, 'POST', '/api/v1/stream/tickets', { token });
        return answer.body.ticket as string;
      }),
    );
    const opened = await Promise.all(
      tickets.map((ticket) => SseClient.open(herald, { query: `?ticket=${ticket}` })),
    );
    try {
      const statuses = opened.map((client) => client.status).sort();
      expect(statuses).toEqual([200, 200, 429, 429, 429, 429, 429, 429]);
    } finally {
      opened.forEach((client) => client.close());
    }
  });

  it('refuses a stream past the per-user cap, and takes one again once a stream closed', async () => {
    const token = await userToken('tabs');
    const first = await SseClient.open(herald, { token });
    const second = await SseClient.open(herald, { token });
    try {
      await first.nextOf('unread-count');
      await second.nextOf('unread-count');
      const third = await api(herald, 'GET', '/api/v1/notifications/stream', { token });
      expect(third).toMatchObject({
        status: 429,
        body: { message: 'At most 2 open streams per user; close one first' },
      });

      first.close();
      const admin = await userToken('root', { roles: ['admin'] });
      await eventually(
        async () => {
          const stats = await api(herald, 'GET', '/api/v1/admin/stats', { token: admin });
          expect(stats.body.connections).toBe(1);
        },
        { intervalMs: 200 },
      );
      const again = await SseClient.open(herald, { token });
      expect(again.status).toBe(200);
      again.close();
    } finally {
      first.close();
      second.close();
    }
  });

  it('refuses a body over HTTP_MAX_BODY_BYTES with 413, in the usual error shape', async () => {
    const answer = await api(herald, 'PUT', '/api/v1/preferences', {
      token: await userToken('bulky'),
      body: { mutedTypes: Array.from({ length: 200 }, (_, i) => `promo.type-${i}`) },
    });
    expect(answer).toMatchObject({
      status: 413,
      body: { statusCode: 413, error: 'Payload Too Large', message: 'request entity too large' },
    });
  });

  it('refuses deep nesting, NUL and lone surrogates in body, query and path with 400', async () => {
    const token = await userToken('odd');
    const deep = `{"mutedTypes":[${'{"a":'.repeat(100)}1${'}'.repeat(100)}]}`;
    const answers = [
      await api(herald, 'PUT', '/api/v1/preferences', { token, rawBody: deep }),
      await api(herald, 'PUT', '/api/v1/preferences', { token, body: { mutedTypes: ['a\u0000'] } }),
      await api(herald, 'PATCH', '/api/v1/notifications/1', {
        token,
        rawBody: '{"read":true,"x":"\\ud800"}',
      }),
      await api(herald, 'GET', '/api/v1/notifications?cursor=%00', { token }),
      await api(herald, 'DELETE', '/api/v1/notifications/%00', { token }),
    ];
    for (const answer of answers) {
      expect(answer).toMatchObject({
        status: 400,
        body: { statusCode: 400, error: 'Bad Request' },
      });
    }
    expect(answers.map((answer) => answer.body.message)).toEqual([
      'nested deeper than 32 levels',
      'a text contains NUL (\\u0000)',
      'a text contains a lone surrogate (not valid Unicode)',
      'a text contains NUL (\\u0000)',
      'a text contains NUL (\\u0000)',
    ]);
    // A token whose subject is not valid Unicode would name another user once stored as UTF-8.
    const aliased = await userToken('\ud800');
    expect((await api(herald, 'GET', '/api/v1/notifications', { token: aliased })).status).toBe(
      401,
    );
  });

  it('sends security headers, and CORS headers to allowed origins only', async () => {
    const health = await api(herald, 'GET', '/health/live');
    expect(health.headers.get('x-content-type-options')).toBe('nosniff');
    expect(health.headers.get('x-powered-by')).toBeNull();

    const preflight = (origin: string) =>
      fetch(`${herald.url}/api/v1/notifications`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'authorization',
        },
      });
    const allowed = await preflight('https://app.example');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
    const other = await preflight('https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();

    const exposed = await api(herald, 'GET', '/api/v1/notifications/unread-count', {
      token: await userToken('cors'),
      headers: { origin: 'https://app.example' },
    });
    expect(exposed.headers.get('access-control-expose-headers')).toContain('RateLimit-Remaining');
  });
});

describe('per-address rate limit', () => {
  let herald: RunningHerald;

  beforeAll(async () => {
    herald = await startHerald({ storage: 'postgres', env: { RATE_LIMIT_PER_IP: '5' } });
  });

  afterAll(() => herald?.close());

  it('limits every request from one address, bad tokens included, but never health', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const answer = await api(herald, 'GET', '/api/v1/notifications', { token: 'forged' });
      statuses.push(answer.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const valid = await api(herald, 'GET', '/api/v1/notifications', {
      token: await userToken('neighbour'),
    });
    expect(valid.status).toBe(429);
    expect(valid.body.message).toMatch(/^Too many requests: at most 5 a minute from one address/);

    for (let i = 0; i < 10; i += 1) {
      expect((await api(herald, 'GET', '/health/live')).status).toBe(200);
    }
  });
});
