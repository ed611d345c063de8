import { RunningHerald, startHerald } from './support/herald';
import { api } from './support/http';
import { storeNotifications } from './support/notifications';
import { SseClient, TestStreams } from './support/sse';
import { STORAGE_KINDS } from './support/storage';
import { userToken } from './support/tokens';

const SET_COOKIE =
  /^herald_stream=([\w-]{43}); Path=\/api\/v1\/notifications\/stream; Expires=([^;]+); HttpOnly; SameSite=Strict$/;

/** CONTRACT.md v1.1 "Browsers without tokens in URLs": the stream session cookie. */
describe.each(STORAGE_KINDS)('stream session cookie on %s', (storage) => {
  let herald: RunningHerald;
  const streams = new TestStreams();
  let user = 0;
  const someone = async (expiresIn?: number) => {
    user += 1;
    const id = `cookie-${user}`;
    return { id, token: await userToken(id, { expiresIn }) };
  };
  /** POST /stream/session: the Set-Cookie header, the session and its Expires. */
  const openSession = async (token: string) => {
    const answer = await api(herald, 'POST', '/api/v1/stream/session', { token });
    expect(answer.status).toBe(204);
    const header = answer.headers.get('set-cookie') ?? '';
    const [, session, expires] = SET_COOKIE.exec(header) ?? [];
    expect(session).toBeDefined();
    return { header, cookie: `herald_stream=${session}`, expires: new Date(expires) };
  };

  beforeAll(async () => {
    herald = await startHerald({ storage });
  });

  afterEach(() => streams.closeAll());

  afterAll(() => herald?.close());

  it('sets an HttpOnly, SameSite=Strict cookie for the stream path that opens it, again and again', async () => {
    const { id, token } = await someone();
    const { header, cookie, expires } = await openSession(token);
    expect(header).not.toContain('Secure'); // plain http
    // At most 1 h, and the token (1 h here) expires later than that by a second at most.
    expect(expires.getTime()).toBeLessThanOrEqual(Date.now() + 3600_000);
    expect(expires.getTime()).toBeGreaterThan(Date.now() + 3590_000);

    const first = await streams.live(herald, { cookie });
    const [missedLater, ...rest] = await storeNotifications(herald, { userIds: [id] }, 3);
    expect((await first.nextOf('notification')).id).toBe(missedLater);
    first.close();
    // As EventSource reconnects: the same cookie, and the last id it saw.
    const again = await streams.live(herald, { cookie, lastEventId: missedLater });
    const replayed = [await again.nextOf('notification'), await again.nextOf('notification')];
    expect(replayed.map((event) => event.id)).toEqual(rest);
  });

  it('opens the stream only: every other route ignores the cookie', async () => {
    const { token } = await someone();
    const { cookie } = await openSession(token);
    for (const path of ['/api/v1/notifications', '/api/v1/notifications/unread-count']) {
      const refused = await api(herald, 'GET', path, { headers: { cookie } });
      expect([refused.status, refused.body.message]).toEqual([401, 'Missing bearer token']);
    }
    const renew = await api(herald, 'POST', '/api/v1/stream/session', { headers: { cookie } });
    expect(renew.status).toBe(401);
  });

  it('ends with the token: the cookie expires then, and so does a stream it opened', async () => {
    const { token } = await someone(3);
    const { expires, cookie } = await openSession(token);
    expect(expires.getTime()).toBeLessThanOrEqual(Date.now() + 3000);
    const stream = await streams.live(herald, { cookie });
    await stream.nextOf('auth-expired', 6000);
    const after = await SseClient.open(herald, { cookie });
    expect(after.status).toBe(401);
    after.close();
  });

  it('refuses a session that DELETE ended, or one that never was, with invalid_token', async () => {
    const { token } = await someone();
    const { cookie } = await openSession(token);
    const other = await openSession((await someone()).token);
    const ended = await api(herald, 'DELETE', '/api/v1/stream/session', { token });
    expect(ended.status).toBe(204);
    expect(ended.headers.get('set-cookie')).toMatch(
      /^herald_stream=; Path=\/api\/v1\/notifications\/stream; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Strict$/,
    );
    for (const dead of [cookie, `herald_stream=${'x'.repeat(43)}`, 'herald_stream=short']) {
      const refused = await SseClient.open(herald, { cookie: dead });
      expect([refused.status, refused.response.headers['www-authenticate']]).toEqual([
        401,
        'Bearer error="invalid_token"',
      ]);
      refused.close();
    }
    // Another token's session lives on.
    expect((await streams.live(herald, { cookie: other.cookie })).status).toBe(200);
  });

  it('needs a bearer token to open one', async () => {
    const refused = await api(herald, 'POST', '/api/v1/stream/session');
    expect([refused.status, refused.headers.get('set-cookie')]).toEqual([401, null]);
  });
});

describe('stream session cookie behind an https proxy, for a page on another origin', () => {
  let herald: RunningHerald;
  const streams = new TestStreams();

  beforeAll(async () => {
    herald = await startHerald({
      storage: 'pglite',
      env: { TRUST_PROXY: 'loopback', CORS_ORIGINS: 'https://app.example' },
    });
  });

  afterEach(() => streams.closeAll());

  afterAll(() => herald?.close());

  it('marks the cookie Secure when the proxy says https', async () => {
    const token = await userToken('proxied');
    const answer = await api(herald, 'POST', '/api/v1/stream/session', {
      token,
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(answer.headers.get('set-cookie')).toMatch(/; HttpOnly; Secure; SameSite=Strict$/);
    const plain = await api(herald, 'POST', '/api/v1/stream/session', { token });
    expect(plain.headers.get('set-cookie')).not.toContain('Secure');
  });

  it('lets a listed origin send credentials (withCredentials), and no other', async () => {
    const token = await userToken('cross-origin');
    const session = await api(herald, 'POST', '/api/v1/stream/session', {
      token,
      headers: { origin: 'https://app.example' },
    });
    expect(session.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(session.headers.get('access-control-allow-credentials')).toBe('true');
    const cookie = session.headers.get('set-cookie')!.split(';')[0];
    expect((await streams.live(herald, { cookie })).status).toBe(200);

    const evil = await api(herald, 'POST', '/api/v1/stream/session', {
      token,
      headers: { origin: 'https://evil.example' },
    });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });
});
