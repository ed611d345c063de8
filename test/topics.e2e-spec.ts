import { Database } from '../src/database/database';
import { topicSubscriptions } from '../src/database/schema';
import { FAN_OUT_PAGE } from '../src/notifications/intake/intake';
import { TestBroker } from './support/amqp';
import { RunningHerald, startHerald } from './support/herald';
import { api } from './support/http';
import { TestStreams } from './support/sse';
import { STORAGE_KINDS } from './support/storage';
import { userToken } from './support/tokens';

/** TOPICS_MAX_PER_USER for these tests: small, so that the cap is reached in a few calls. */
const MAX_TOPICS = 5;

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
    herald = await startHerald({ storage, env: { TOPICS_MAX_PER_USER: String(MAX_TOPICS) } });
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
      nextCursor: null,
    });
    expect(await api(herald, 'DELETE', '/api/v1/topics/orders', { token })).toMatchObject({
      status: 204,
    });
    expect(await api(herald, 'DELETE', '/api/v1/topics/orders', { token })).toMatchObject({
      status: 204,
    });
    expect((await api(herald, 'GET', '/api/v1/topics', { token })).body).toEqual({
      topics: ['news.daily'],
      nextCursor: null,
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
      nextCursor: null,
    });
    const listed = await api(herald, 'GET', '/api/v1/admin/topics/billing/subscribers', {
      token: admin,
    });
    expect(listed.body).toEqual({ items: ['managed'], nextCursor: null });
    expect((await api(herald, 'DELETE', path, { token: admin })).status).toBe(204);
    expect((await api(herald, 'GET', '/api/v1/topics', { token: user })).body).toEqual({
      topics: [],
      nextCursor: null,
    });
  });

  it(`refuses a new topic past TOPICS_MAX_PER_USER (${MAX_TOPICS}) with 409, re-subscribing stays 204`, async () => {
    const token = await userToken('capped');
    const topics = Array.from({ length: MAX_TOPICS }, (_, i) => `capped.${i}`);
    for (const topic of topics) await subscribe('capped', topic);
    const refused = {
      status: 409,
      body: {
        statusCode: 409,
        error: 'Conflict',
        message: `A user may hold at most ${MAX_TOPICS} topic subscriptions (TOPICS_MAX_PER_USER); unsubscribe from one first`,
      },
    };
    expect(await api(herald, 'PUT', '/api/v1/topics/one.more', { token })).toMatchObject(refused);
    const byAdmin = '/api/v1/admin/topics/one.more/subscribers/capped';
    expect(await api(herald, 'PUT', byAdmin, { token: admin })).toMatchObject(refused);
    // Topics already held: idempotent at the cap, by the user and by an admin.
    await subscribe('capped', topics[2]);
    const again = `/api/v1/admin/topics/${topics[0]}/subscribers/capped`;
    expect((await api(herald, 'PUT', again, { token: admin })).status).toBe(204);
    expect((await api(herald, 'GET', '/api/v1/topics', { token })).body).toEqual({
      topics,
      nextCursor: null,
    });

    expect((await api(herald, 'DELETE', `/api/v1/topics/${topics[4]}`, { token })).status).toBe(
      204,
    );
    await subscribe('capped', 'one.more');
    // The cap is per user: another user (or the same id in a tenant) starts from none.
    await subscribe('capped', 'one.more', 'acme');
  });

  it('holds the cap under concurrent subscribes of one user, by the user and by admins', async () => {
    const token = await userToken('racer');
    const topics = Array.from({ length: 20 }, (_, i) => `race.${String(i).padStart(2, '0')}`);
    const answers = await Promise.all(
      topics.map((topic, i) =>
        i % 2 === 0
          ? api(herald, 'PUT', `/api/v1/topics/${topic}`, { token })
          : api(herald, 'PUT', `/api/v1/admin/topics/${topic}/subscribers/racer`, {
              token: admin,
            }),
      ),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 204)).toHaveLength(MAX_TOPICS);
    expect(statuses.filter((status) => status === 409)).toHaveLength(20 - MAX_TOPICS);
    const held = (await api(herald, 'GET', '/api/v1/topics', { token })).body.topics as string[];
    expect(held).toEqual(topics.filter((_, i) => statuses[i] === 204));

    // Concurrent re-subscribes of what is held, and more refused ones, change nothing.
    const repeated = await Promise.all(
      [...held, ...held, 'race.late', 'race.later'].map((topic) =>
        api(herald, 'PUT', `/api/v1/topics/${topic}`, { token }),
      ),
    );
    expect(repeated.map((answer) => answer.status)).toEqual([
      ...held.map(() => 204),
      ...held.map(() => 204),
      409,
      409,
    ]);
    expect((await api(herald, 'GET', '/api/v1/topics', { token })).body.topics).toEqual(held);
  });

  it('pages the topics by name, without gap or duplicate', async () => {
    const token = await userToken('pager');
    // More than the cap: as a user holds who subscribed before TOPICS_MAX_PER_USER was lowered.
    const topics = Array.from({ length: 12 }, (_, i) => `page.${String(i).padStart(2, '0')}`);
    await herald.app
      .get(Database)
      .run((db) =>
        db.insert(topicSubscriptions).values(topics.map((topic) => ({ topic, userId: 'pager' }))),
      );
    const walked: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `?limit=5${cursor === null ? '' : `&cursor=${cursor}`}`;
      const page = await api(herald, 'GET', `/api/v1/topics${query}`, { token });
      expect(page.status).toBe(200);
      walked.push(...(page.body.topics as string[]));
      cursor = page.body.nextCursor as string | null;
      pages += 1;
    } while (cursor !== null && pages < 10);
    expect(walked).toEqual(topics);
    expect(pages).toBe(3);

    // No limit: a page as big as the cap, so a user within the cap gets every topic at once.
    expect((await api(herald, 'GET', '/api/v1/topics', { token })).body).toEqual({
      topics: topics.slice(0, MAX_TOPICS),
      nextCursor: topics[MAX_TOPICS - 1],
    });
    expect(
      (await api(herald, 'GET', `/api/v1/topics?limit=7&cursor=${topics[4]}`, { token })).body,
    ).toEqual({ topics: topics.slice(5), nextCursor: null });
    for (const [query, message] of [
      ['?limit=0', /^limit must not be less than 1/],
      ['?limit=1001', /^limit must not be greater than 1000/],
      ['?cursor=a%20b', /^cursor must be a topic name/],
    ] as const) {
      expect(await api(herald, 'GET', `/api/v1/topics${query}`, { token })).toMatchObject({
        status: 400,
        body: { message: expect.stringMatching(message) },
      });
    }
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
