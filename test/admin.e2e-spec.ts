import { connect } from 'amqplib';
import { amqpTopology } from '../src/messaging/amqp-topology';
import { TEST_AMQP_URL, TestBroker } from './support/amqp';
import { RunningHerald, startHerald } from './support/herald';
import { eventually } from './support/eventually';
import { api } from './support/http';
import { SseClient } from './support/sse';
import { userToken } from './support/tokens';

/** The admin API over real HTTP and RabbitMQ: sending, searching, stats and dead letters. */
describe('admin API', () => {
  let herald: RunningHerald;
  let broker: TestBroker;
  let admin: string;

  beforeAll(async () => {
    herald = await startHerald({ storage: 'postgres' });
    broker = await TestBroker.connect();
    admin = await userToken('root', { roles: ['admin'] });
  });

  afterAll(async () => {
    await broker?.close();
    await herald?.close();
  });

  it('sends through RabbitMQ to the recipient’s stream, once per Idempotency-Key', async () => {
    const stream = await SseClient.open(herald, { token: await userToken('dana') });
    try {
      await stream.nextOf('unread-count');
      const body = { recipients: { userIds: ['dana'] }, type: 'ops.notice', title: 'Hi Dana' };
      const headers = { 'idempotency-key': 'notice-1' };
      const first = await api(herald, 'POST', '/api/v1/admin/notifications', {
        token: admin,
        body,
        headers,
      });
      expect(first).toMatchObject({ status: 202, body: { id: 'notice-1' } });
      expect((await stream.nextOf('notification')).data).toMatchObject({ title: 'Hi Dana' });

      const again = await api(herald, 'POST', '/api/v1/admin/notifications', {
        token: admin,
        body,
        headers,
      });
      expect(again).toMatchObject({ status: 202, body: { id: 'notice-1' } });
      // The repeat is absorbed: a later notification is the next thing the stream sees.
      await api(herald, 'POST', '/api/v1/admin/notifications', {
        token: admin,
        body: { ...body, title: 'Second' },
      });
      expect((await stream.nextOf('notification')).data).toMatchObject({ title: 'Second' });
      const inbox = await api(herald, 'GET', '/api/v1/notifications', {
        token: await userToken('dana'),
      });
      expect(inbox.body.items.map((item: { title: string }) => item.title)).toEqual([
        'Second',
        'Hi Dana',
      ]);
    } finally {
      stream.close();
    }
  });

  it('searches any user’s notifications within the admin’s tenant', async () => {
    for (const [userId, tenantId, type] of [
      ['erin', undefined, 'search.a'],
      ['erin', undefined, 'search.b'],
      ['fay', undefined, 'search.a'],
      ['erin', 'acme', 'search.a'],
    ] as const) {
      const reply = await broker.request(herald, 'notification.search', {
        recipients: { userIds: [userId] },
        type,
        title: `${userId} ${type}`,
        ...(tenantId && { tenantId }),
      });
      expect(reply.ok).toBe(true);
    }
    const titles = async (query: string, token = admin) => {
      const found = await api(herald, 'GET', `/api/v1/admin/notifications?${query}`, { token });
      expect(found.status).toBe(200);
      return found.body.items.map((item: { title: string }) => item.title);
    };
    expect(await titles('userId=erin')).toEqual(['erin search.b', 'erin search.a']);
    expect(await titles('type=search.a')).toEqual(['fay search.a', 'erin search.a']);
    expect(await titles('type=search.a&tenantId=acme')).toEqual(['erin search.a']);

    const page = await api(herald, 'GET', '/api/v1/admin/notifications?userId=erin&limit=1', {
      token: admin,
    });
    expect(page.body.nextCursor).toEqual(page.body.items[0].id);
    expect(await titles(`userId=erin&cursor=${page.body.nextCursor}`)).toEqual(['erin search.a']);

    const acmeAdmin = await userToken('acme-root', { roles: ['admin'], tenant: 'acme' });
    expect(await titles('type=search.a', acmeAdmin)).toEqual(['erin search.a']);
    expect(
      (
        await api(herald, 'GET', '/api/v1/admin/notifications?tenantId=globex', {
          token: acmeAdmin,
        })
      ).status,
    ).toBe(403);
    expect(
      (await api(herald, 'GET', '/api/v1/admin/notifications?limit=5000', { token: admin })).body,
    ).toMatchObject({ statusCode: 400, message: 'limit must not be greater than 1000' });
  });

  it('counts connections, users online, notifications and dead letters', async () => {
    const token = await userToken('gil', { tenant: 'stats' });
    const streams = [
      await SseClient.open(herald, { token }),
      await SseClient.open(herald, { token }),
    ];
    try {
      await Promise.all(streams.map((stream) => stream.nextOf('unread-count')));
      await broker.request(herald, 'notification.stats', {
        recipients: { userIds: ['gil', 'hal'] },
        type: 'stats',
        title: 'Counted',
        tenantId: 'stats',
      });
      const tenantAdmin = await userToken('stats-root', { roles: ['admin'], tenant: 'stats' });
      const stats = await api(herald, 'GET', '/api/v1/admin/stats', { token: tenantAdmin });
      expect(stats).toMatchObject({
        status: 200,
        body: { connections: 2, usersOnline: 1, notifications: 2 },
      });
      expect(stats.body.deadLetters).toEqual(expect.any(Number));
      const everything = await api(herald, 'GET', '/api/v1/admin/stats', { token: admin });
      expect(everything.body.connections).toBeGreaterThanOrEqual(2);
      expect(everything.body.notifications).toBeGreaterThan(2);
    } finally {
      streams.forEach((stream) => stream.close());
    }
  });

  it('lists dead letters without losing them, replays them and purges them', async () => {
    const path = '/api/v1/admin/dead-letters';
    expect((await api(herald, 'DELETE', path, { token: admin })).status).toBe(200);
    await broker.publish(
      herald,
      'notification.broken',
      { recipients: {}, title: 'no recipients' },
      { messageId: 'broken-1' },
    );
    // The total is the queue's depth, read just before the listing: until both have seen the
    // dead letter arrive, they may differ.
    const listed = await eventually(async () => {
      const answer = await api(herald, 'GET', path, { token: admin });
      expect([answer.body.total, answer.body.items.length]).toEqual([1, 1]);
      return answer.body;
    });
    expect(listed).toMatchObject({
      total: 1,
      items: [
        {
          messageId: 'broken-1',
          routingKey: 'notification.broken',
          code: 'invalid',
          reason: expect.stringContaining('recipients needs userIds, topics or broadcast'),
          replays: 0,
          body: JSON.stringify({ recipients: {}, title: 'no recipients' }),
          truncated: false,
        },
      ],
    });
    // Looking did not take it: it is still there, and still first.
    expect((await api(herald, 'GET', path, { token: admin })).body.items[0].messageId).toBe(
      'broken-1',
    );

    // Replayed unchanged, it fails the same way and comes back, marked as replayed once.
    const replayed = await api(herald, 'POST', `${path}/replay`, { token: admin });
    expect(replayed).toMatchObject({ status: 200, body: { replayed: 1, kept: 0 } });
    const back = await eventually(async () => {
      const answer = await api(herald, 'GET', path, { token: admin });
      expect(answer.body.items).toHaveLength(1);
      return answer.body.items[0];
    });
    expect(back).toMatchObject({ messageId: 'broken-1', code: 'invalid', replays: 1 });

    // One the broker dead-lettered itself (no Herald headers) cannot be replayed: it moves to the
    // end and does not block the one behind it.
    await api(herald, 'DELETE', path, { token: admin });
    const { deadLetterExchange } = amqpTopology(herald.config.amqp);
    const connection = await connect(TEST_AMQP_URL);
    try {
      const channel = await connection.createConfirmChannel();
      // Persistent, as the broker keeps the original's delivery mode when it dead-letters.
      channel.publish(deadLetterExchange, 'notification.orphan', Buffer.from('{}'), {
        messageId: 'orphan-1',
        persistent: true,
      });
      await channel.waitForConfirms();
    } finally {
      await connection.close();
    }
    await broker.publish(
      herald,
      'notification.broken',
      { recipients: {}, title: 'no recipients' },
      { messageId: 'broken-2' },
    );
    await eventually(async () =>
      expect((await api(herald, 'GET', path, { token: admin })).body.total).toBe(2),
    );
    expect(await api(herald, 'POST', `${path}/replay`, { token: admin })).toMatchObject({
      status: 200,
      body: { replayed: 1, kept: 1 },
    });
    const after = await eventually(async () => {
      const answer = await api(herald, 'GET', path, { token: admin });
      expect(answer.body.items).toHaveLength(2);
      return answer.body.items as { messageId: string; replays: number }[];
    });
    expect(after.map(({ messageId, replays }) => [messageId, replays])).toEqual(
      expect.arrayContaining([
        ['orphan-1', 0],
        ['broken-2', 1],
      ]),
    );

    expect(await api(herald, 'DELETE', path, { token: admin })).toMatchObject({
      status: 200,
      body: { purged: 2 },
    });
    expect((await api(herald, 'GET', path, { token: admin })).body).toEqual({
      items: [],
      total: 0,
    });
  });

  it('keeps dead letters, which mix tenants, to platform admins', async () => {
    const tenantAdmin = await userToken('acme-root', { roles: ['admin'], tenant: 'acme' });
    for (const [method, path] of [
      ['GET', '/api/v1/admin/dead-letters'],
      ['POST', '/api/v1/admin/dead-letters/replay'],
      ['DELETE', '/api/v1/admin/dead-letters'],
    ]) {
      expect(await api(herald, method, path, { token: tenantAdmin })).toMatchObject({
        status: 403,
        body: { message: 'dead letters are for platform admins (a token without a tenant)' },
      });
    }
  });
});
