import { Database } from '../src/database/database';
import { topicSubscriptions } from '../src/database/schema';
import { FAN_OUT_PAGE } from '../src/notifications/intake.service';
import { TestBroker } from './support/amqp';
import { RunningHerald, startHerald } from './support/herald';
import { api } from './support/http';
import { TestStreams } from './support/sse';
import { STORAGE_KINDS } from './support/storage';
import { userToken } from './support/tokens';

describe.each(STORAGE_KINDS)('topics and broadcasts on %s', (storage) => {
  let herald: RunningHerald;
  let broker: TestBroker;
  let admin: string;
  const streams = new TestStreams();

  const open = async (userId: string, tenant?: string) =>
    streams.live(herald, { token: await userToken(userId, { tenant }) });
  const inbox = async (userId: string, tenant?: string) => {
    const token = await userToken(userId, { tenant });
    const response = await api(herald, 'GET', '/api/v1/notifications', { token });
    return response.body.items as { title: string; topic: string | null; tenantId: string }[];
  };
  const subscribe = async (userId: string, topic: string, tenant?: string) => {
    const token = await userToken(userId, { tenant });
    expect(await api(herald, 'PUT', `/api/v1/topics/${topic}`, { token })).toMatchObject({
      status: 204,
    });
  };
  const send = (body: object) =>
    broker.request(herald, 'notification.topic.test', { title: 'T', ...body });

  beforeAll(async () => {
    herald = await startHerald({ storage });
    broker = await TestBroker.connect();
    admin = await userToken('root', { roles: ['admin'] });
  });

  afterEach(() => streams.closeAll());

  afterAll(async () => {
    await broker?.close();
    await herald?.close();
  });

  it('lets users subscribe and unsubscribe themselves, idempotently', async () => {
    const token = await userToken('reader');
    await subscribe('reader', 'orders');
    await subscribe('reader', 'orders');
    await subscribe('reader', 'news.daily');
    expect((await api(herald, 'GET', '/api/v1/topics', { token })).body).toEqual({
      topics: ['news.daily', 'orders'],
    });
    expect(await api(herald, 'DELETE', '/api/v1/topics/orders', { token })).toMatchObject({
      status: 204,
    });
    expect(await api(herald, 'DELETE', '/api/v1/topics/orders', { token })).toMatchObject({
      status: 204,
    });
    expect((await api(herald, 'GET', '/api/v1/topics', { token })).body).toEqual({
      topics: ['news.daily'],
    });
  });

  it('refuses a bad topic name with a 400 naming it, and anonymous callers with 401', async () => {
    const token = await userToken('reader');
    const bad = await api(herald, 'PUT', '/api/v1/topics/a%20b', { token });
    expect(bad).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^topic /) } });
    const long = await api(herald, 'PUT', `/api/v1/topics/${'x'.repeat(101)}`, { token });
    expect(long.status).toBe(400);
    expect((await api(herald, 'GET', '/api/v1/topics')).status).toBe(401);
  });

  it('stores a topic notification for each subscriber, and for nobody else', async () => {
    await subscribe('sub-1', 'deploys');
    await subscribe('sub-2', 'deploys');
    const live = await open('sub-1');
    const reply = await send({ id: 'deploy-1', recipients: { topics: ['deploys'] } });
    expect(reply).toMatchObject({ ok: true, ids: [expect.any(String), expect.any(String)] });
    expect(await live.nextOf('notification')).toMatchObject({
      data: { userId: 'sub-1', topic: 'deploys', title: 'T' },
    });
    expect(await inbox('sub-2')).toMatchObject([{ topic: 'deploys' }]);
    expect(await inbox('not-subscribed')).toEqual([]);

    // Redelivered: nothing new; a user both named and subscribed gets it once, untagged.
    expect(await send({ id: 'deploy-1', recipients: { topics: ['deploys'] } })).toEqual(reply);
    await send({ id: 'deploy-2', recipients: { userIds: ['sub-1'], topics: ['deploys'] } });
    expect((await inbox('sub-1')).map((n) => n.topic)).toEqual([null, 'deploys']);
  });

  it('lets admins manage anyone’s subscriptions, and nobody else', async () => {
    const path = '/api/v1/admin/topics/billing/subscribers/managed';
    const user = await userToken('managed');
    expect((await api(herald, 'PUT', path, { token: user })).status).toBe(403);
    expect((await api(herald, 'PUT', path, { token: admin })).status).toBe(204);
    expect((await api(herald, 'GET', '/api/v1/topics', { token: user })).body).toEqual({
      topics: ['billing'],
    });
    const listed = await api(herald, 'GET', '/api/v1/admin/topics/billing/subscribers', {
      token: admin,
    });
    expect(listed.body).toEqual({ items: ['managed'], nextCursor: null });
    expect((await api(herald, 'DELETE', path, { token: admin })).status).toBe(204);
    expect((await api(herald, 'GET', '/api/v1/topics', { token: user })).body).toEqual({
      topics: [],
    });
  });

  it(`fans a big topic out in transactions of ${FAN_OUT_PAGE}, each subscriber once`, async () => {
    const subscribers = 2 * FAN_OUT_PAGE + 500;
    await herald.app
      .get(Database)
      .run((db) =>
        db
          .insert(topicSubscriptions)
          .values(
            Array.from({ length: subscribers }, (_, i) => ({ topic: 'big', userId: `big-${i}` })),
          ),
      );
    const reply = await send({ id: 'big-1', recipients: { topics: ['big'] } });
    expect(reply.ok).toBe(true);
    expect(new Set(reply.ids).size).toBe(subscribers);
    expect(await inbox('big-1234')).toMatchObject([{ topic: 'big' }]);
  });

  it('keeps tenants apart: a topic of tenant A never reaches tenant B', async () => {
    await subscribe('same-name', 'alerts', 'acme');
    await subscribe('same-name', 'alerts', 'globex');
    await send({ recipients: { topics: ['alerts'] }, tenantId: 'acme', title: 'for acme' });
    expect(await inbox('same-name', 'acme')).toMatchObject([
      { title: 'for acme', tenantId: 'acme' },
    ]);
    expect(await inbox('same-name', 'globex')).toEqual([]);
    expect(await inbox('same-name')).toEqual([]);
    const tenantAdmin = await userToken('acme-root', { roles: ['admin'], tenant: 'acme' });
    const foreign = await api(
      herald,
      'GET',
      '/api/v1/admin/topics/alerts/subscribers?tenantId=globex',
      { token: tenantAdmin },
    );
    expect(foreign).toMatchObject({ status: 403, body: { statusCode: 403 } });
    const own = await api(herald, 'GET', '/api/v1/admin/topics/alerts/subscribers', {
      token: tenantAdmin,
    });
    expect(own.body.items).toEqual(['same-name']);
  });

  it('broadcasts to every user of the tenant known then, live to those connected', async () => {
    const first = await open('bc-1', 'bcast');
    const second = await open('bc-2', 'bcast');
    await open('bc-other', 'elsewhere');
    const reply = await send({
      id: 'maintenance',
      recipients: { broadcast: true },
      tenantId: 'bcast',
      title: 'Maintenance tonight',
    });
    expect(reply.ids).toHaveLength(2);
    for (const client of [first, second]) {
      expect(await client.nextOf('notification')).toMatchObject({
        data: { title: 'Maintenance tonight', tenantId: 'bcast', topic: null },
      });
    }
    expect(await inbox('bc-other', 'elsewhere')).toEqual([]);
    // Users first seen after the broadcast do not get it (stored per user; see docs).
    expect(await inbox('bc-late', 'bcast')).toEqual([]);
  });

  it('dead-letters recipients that name nobody', async () => {
    const reply = await send({ recipients: { topics: [] } });
    expect(reply).toEqual({
      ok: false,
      error: expect.stringContaining('recipients needs userIds, topics or broadcast: true'),
    });
  });
});
