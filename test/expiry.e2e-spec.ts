import { sql } from 'drizzle-orm';
import { Database, queryRows } from '../src/database/database';
import { ExpiryPurge } from '../src/notifications/inbox/expiry-purge';
import { NotificationsRepository } from '../src/notifications/inbox/notifications.repository';
import { TestBroker } from './support/amqp';
import { RunningHerald, startHerald } from './support/herald';
import { api } from './support/http';
import { storeNotifications } from './support/notifications';
import { SseClient } from './support/sse';
import { STORAGE_KINDS } from './support/storage';
import { userToken } from './support/tokens';

describe.each(STORAGE_KINDS)('expiry on %s', (storage) => {
  let herald: RunningHerald;

  beforeAll(async () => {
    herald = await startHerald({ storage });
  });

  afterAll(() => herald?.close());

  /** A row that expired a minute ago, written past the service (which would not store it). */
  const storeExpired = async (userId: string, key: string) => {
    const [stored] = await herald.app.get(NotificationsRepository).insertMany([
      {
        recipient: { userId, tenantId: null },
        idempotencyKey: key,
        type: 'test.expired',
        title: 'gone',
        body: null,
        data: {},
        priority: 'normal',
        topic: null,
        expiresAt: new Date(Date.now() - 60_000),
        url: null,
        actions: [],
        category: null,
        collapseKey: null,
        locale: null,
        group: null,
      },
    ]);
    return stored.notification.id;
  };

  const rowsOf = async (userId: string) =>
    (
      await queryRows<{ n: number }>(
        herald.app.get(Database).db,
        sql`SELECT count(*)::int AS n FROM notifications WHERE user_id = ${userId}`,
      )
    )[0].n;

  it('does not store a message that expired before it arrived', async () => {
    const broker = await TestBroker.connect();
    try {
      const reply = await broker.request(herald, 'notification.x', {
        recipients: { userIds: ['late'] },
        title: 'too late',
        expiresAt: '2020-01-01T00:00:00Z',
      });
      expect(reply).toEqual({ ok: true, ids: [] });
    } finally {
      await broker.close();
    }
    expect(await rowsOf('late')).toBe(0);
  });

  it('never lists, counts or replays an expired notification, and purges it', async () => {
    const token = await userToken('expiring-user');
    const expiredId = await storeExpired('expiring-user', 'old-1');
    const list = await api(herald, 'GET', '/api/v1/notifications', { token });
    expect(list.body.items).toEqual([]);
    const count = await api(herald, 'GET', '/api/v1/notifications/unread-count', { token });
    expect(count.body).toEqual({ count: 0, unseen: 0 }); // v1.1: unseen too
    const patch = await api(herald, 'PATCH', `/api/v1/notifications/${expiredId}`, {
      token,
      body: { read: true },
    });
    expect(patch.status).toBe(404);
    const stream = await SseClient.open(herald, { token, lastEventId: '0' });
    try {
      expect(await stream.nextOf('unread-count')).toMatchObject({ data: { count: 0 } });
      // Replay from 0 comes first, then live: the first notification must be the fresh one.
      const [fresh] = await storeNotifications(herald, { userIds: ['expiring-user'] });
      expect(await stream.nextOf('notification')).toMatchObject({ id: fresh });
    } finally {
      stream.close();
    }

    expect(await rowsOf('expiring-user')).toBe(2);
    expect(await herald.app.get(ExpiryPurge).purge()).toBeGreaterThanOrEqual(1);
    expect(await rowsOf('expiring-user')).toBe(1); // the fresh one stays
  });
});
