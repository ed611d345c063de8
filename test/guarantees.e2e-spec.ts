// The promises of CONTRACT.md that a reviewer broke on a fresh checkout, with PostgreSQL's
// default settings (max_locks_per_transaction 64): nothing lost under a wide burst, a stray
// message on the internal exchange harms nobody, a position ahead of storage does not silence a
// user, an id reused for other recipients is stored for them, and one producer's order holds.
import { loadConfig } from '../src/config/herald-config';
import { amqpTopology } from '../src/messaging/amqp-topology';
import { EVERYONE_KEY } from '../src/realtime/realtime-bus';
import { deleteTopology, TestBroker } from './support/amqp';
import { eventually } from './support/eventually';
import { RunningHerald, startHerald } from './support/herald';
import { api } from './support/http';
import { storeNotifications } from './support/notifications';
import { SseClient, TestStreams } from './support/sse';
import { createTestStorage, STORAGE_KINDS, TestStorage, uniqueName } from './support/storage';
import { userToken } from './support/tokens';

const adminToken = () => userToken('ops', { roles: ['admin'] });

describe.each(STORAGE_KINDS)('guarantees on %s', (storage) => {
  let herald: RunningHerald;
  let broker: TestBroker;
  const streams = new TestStreams();

  beforeAll(async () => {
    herald = await startHerald({ storage });
    broker = await TestBroker.connect();
  });

  afterEach(() => streams.closeAll());

  afterAll(async () => {
    await broker?.close();
    await herald?.close();
  });

  /** Every notification stored, as the admin API counts them. */
  const stored = async () => {
    const answer = await api(herald, 'GET', '/api/v1/admin/stats', { token: await adminToken() });
    return (answer.body as { notifications: number }).notifications;
  };

  const total = async (userId: string) => {
    const answer = await api(
      herald,
      'GET',
      `/api/v1/admin/notifications?userId=${userId}&limit=100`,
      { token: await adminToken() },
    );
    return (answer.body.items as unknown[]).length;
  };

  it('stores a burst of 40 messages to 1,000 users each: 40,000 notifications, no dead letter', async () => {
    // 40,000 distinct users: a lock each, far past PostgreSQL's default lock table (6,400).
    const { exchange } = amqpTopology(herald.config.amqp);
    for (let n = 0; n < 40; n += 1) {
      const userIds = Array.from({ length: 1000 }, (_, i) => `wide-${n}-${i}`);
      const body = { id: `wide-${n}`, recipients: { userIds }, title: `#${n}` };
      broker.channel.publish(exchange, 'notification.wide', Buffer.from(JSON.stringify(body)), {
        contentType: 'application/json',
        persistent: true,
      });
    }
    await broker.channel.waitForConfirms();
    await eventually(async () => expect(await stored()).toBe(40_000), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    expect(await total('wide-0-0')).toBe(1);
    expect(await total('wide-39-999')).toBe(1);
    const { deadLetterQueue } = amqpTopology(herald.config.amqp);
    expect((await broker.channel.checkQueue(deadLetterQueue)).messageCount).toBe(0);
  }, 120_000);

  it('delivers 20 scheduled messages to 1,000 users each, due at once: 20,000 notifications', async () => {
    const deliverAt = new Date(Date.now() + 5000).toISOString();
    for (let n = 0; n < 20; n += 1) {
      const userIds = Array.from({ length: 1000 }, (_, i) => `due-${n}-${i}`);
      const reply = await broker.request(herald, 'notification.due', {
        id: `due-${n}`,
        recipients: { userIds },
        title: `due #${n}`,
        deliverAt,
      });
      expect(reply).toMatchObject({ ok: true, scheduled: { id: `due-${n}` } });
    }
    const before = await stored();
    await eventually(async () => expect((await stored()) - before).toBe(20_000), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    expect(await total('due-19-999')).toBe(1);
  }, 90_000);

  it('drops stray messages on the internal realtime exchange and goes on delivering', async () => {
    const { realtimeExchange } = amqpTopology(herald.config.amqp);
    const client = await streams.live(herald, { token: await userToken('stray') });
    for (const content of ['{}', '[]', 'null', 'not json', '{"kind":"batch","events":[{}]}']) {
      broker.channel.publish(realtimeExchange, EVERYONE_KEY, Buffer.from(content));
    }
    await broker.channel.waitForConfirms();
    await broker.publish(herald, 'notification.after', {
      id: 'after-stray',
      recipients: { userIds: ['stray'] },
      title: 'Still here',
    });
    expect((await client.nextOf('notification')).data).toMatchObject({ title: 'Still here' });
    const metrics = await api(herald, 'GET', '/metrics');
    const dropped = /herald_realtime_messages_dropped_total\{reason="unreadable"\} (\d+)/.exec(
      metrics.body as string,
    );
    expect(Number(dropped?.[1])).toBe(5);
  });

  it('answers a position ahead of storage with resync, then delivers from the true position', async () => {
    await broker.publish(herald, 'notification.before', {
      id: 'ahead-1',
      recipients: { userIds: ['ahead'] },
      title: 'Stored before',
    });
    await eventually(async () => expect(await total('ahead')).toBe(1));
    const token = await userToken('ahead');
    const { body } = await api(herald, 'GET', '/api/v1/notifications', { token });
    const newest = body.items[0].id as string;
    // As after a database restored from a backup: the browser saw ids this database never had.
    const client = streams.track(
      await SseClient.open(herald, { token, lastEventId: '9000000000000000000' }),
    );
    expect(await client.next()).toMatchObject({ event: 'unread-count', id: newest });
    expect(await client.next()).toMatchObject({
      event: 'resync',
      id: newest,
      data: { reason: 'ahead-of-storage' },
    });
    await broker.publish(herald, 'notification.later', {
      id: 'ahead-2',
      recipients: { userIds: ['ahead'] },
      title: 'Stored after',
    });
    expect(await client.nextOf('notification')).toMatchObject({
      data: { title: 'Stored after' },
    });
  });

  it('stores a scheduled id once per recipient: the same id to A, then to B, reaches both', async () => {
    const deliverAt = new Date(Date.now() + 1500).toISOString();
    for (const userId of ['sched-a', 'sched-b', 'sched-a']) {
      const reply = await broker.request(herald, 'notification.reminder', {
        id: 'reused-id',
        recipients: { userIds: [userId] },
        title: 'Reminder',
        deliverAt,
      });
      expect(reply).toMatchObject({ ok: true, scheduled: { id: 'reused-id' } });
    }
    for (const userId of ['sched-a', 'sched-b']) {
      await eventually(async () => expect(await total(userId)).toBe(1), { timeoutMs: 15_000 });
    }
  });

  it('stores and delivers one producer’s messages to a user in the order they were published', async () => {
    const client = await streams.live(herald, { token: await userToken('ordered') });
    const { exchange } = amqpTopology(herald.config.amqp);
    const sent: string[] = [];
    // One channel, in order, a few at a time: batches of them are stored while more arrive.
    for (let n = 1; n <= 200; n += 1) {
      const title = `#${n}`;
      sent.push(title);
      const body = { id: `ordered-${n}`, recipients: { userIds: ['ordered'] }, title };
      broker.channel.publish(exchange, 'notification.step', Buffer.from(JSON.stringify(body)), {
        contentType: 'application/json',
        persistent: true,
      });
      if (n % 3 === 0) await new Promise((resolve) => setTimeout(resolve, n % 2));
    }
    await broker.channel.waitForConfirms();
    const received: string[] = [];
    while (received.length < sent.length) {
      received.push((await client.nextOf('notification')).data.title as string);
    }
    expect(received).toEqual(sent);
    const { body } = await api(herald, 'GET', '/api/v1/notifications?limit=100', {
      token: await userToken('ordered'),
    });
    const newest = (body.items as { title: string }[]).map((n) => n.title).reverse();
    expect(newest).toEqual(sent.slice(-100));
  });

  it('streams the stored one when a burst repeats a key for one user (the first of them)', async () => {
    const client = await streams.live(herald, { token: await userToken('repeat') });
    const { exchange } = amqpTopology(herald.config.amqp);
    const send = (body: object) =>
      broker.channel.publish(exchange, 'notification.repeat', Buffer.from(JSON.stringify(body)), {
        contentType: 'application/json',
      });
    // Others first, so that both repeats land in one batch behind them.
    for (let n = 0; n < 30; n += 1) {
      send({ id: `other-${n}`, recipients: { userIds: ['repeat-other'] }, title: `${n}` });
    }
    send({ id: 'same', recipients: { userIds: ['repeat'] }, title: 'first' });
    send({ id: 'same', recipients: { userIds: ['repeat'] }, title: 'second' });
    await broker.channel.waitForConfirms();
    const streamed = await client.nextOf('notification');
    const { body } = await api(herald, 'GET', '/api/v1/notifications', {
      token: await userToken('repeat'),
    });
    expect(body.items).toHaveLength(1);
    expect(body.items[0]).toMatchObject({ id: streamed.id, title: 'first' });
    expect(streamed.data).toMatchObject({ title: 'first' });
  });

  it('counts one less on the stream once a notification expires, and counts on from there', async () => {
    const client = await streams.live(herald, { token: await userToken('expiring') });
    const to = { recipients: { userIds: ['expiring'] } };
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    await broker.publish(herald, 'notification.soon', {
      ...to,
      id: 'exp-1',
      title: 'Soon',
      expiresAt,
    });
    await broker.publish(herald, 'notification.stays', { ...to, id: 'exp-2', title: 'Stays' });
    const count = async () => (await client.nextOf('unread-count', 5000)).data.count as number;
    expect([await count(), await count()]).toEqual([1, 2]);
    expect(await count()).toBe(1); // the expiry, announced by itself
    await broker.publish(herald, 'notification.next', { ...to, id: 'exp-3', title: 'Next' });
    expect(await count()).toBe(2);
  });

  it('tells every tab of a read-all with one bulk-updated event, not one per notification', async () => {
    const ids = await storeNotifications(herald, { userIds: ['bulk'] }, 2000);
    const token = await userToken('bulk');
    const tab = await streams.live(herald, { token });
    const answer = await api(herald, 'POST', '/api/v1/notifications/read-all', { token });
    expect(answer.body).toEqual({ updated: 2000 });
    const event = await tab.next((each) => each.event !== 'unread-count');
    expect(event).toMatchObject({
      event: 'notification.bulk-updated',
      data: { upTo: ids[ids.length - 1], filter: { status: 'unread' }, set: { read: true } },
    });
    expect(await tab.nextOf('unread-count')).toMatchObject({ data: { count: 0 } });
    expect(tab.events.filter((each) => each.event === 'notification.updated')).toEqual([]);
  });
});

describe('one producer’s order across instances (AMQP_SINGLE_ACTIVE_CONSUMER)', () => {
  const prefix = `${uniqueName('sac')}.`;
  const env = { AMQP_PREFIX: prefix, AMQP_SINGLE_ACTIVE_CONSUMER: 'true' };
  let storage: TestStorage;
  let first: RunningHerald;
  let second: RunningHerald;
  let broker: TestBroker;

  beforeAll(async () => {
    storage = await createTestStorage('postgres');
    first = await startHerald({ storage, env });
    second = await startHerald({ storage, env });
    broker = await TestBroker.connect();
  });

  afterAll(async () => {
    await broker?.close();
    await second?.close();
    await storage?.drop();
    await deleteTopology(loadConfig({ AMQP_PREFIX: prefix }).amqp);
  });

  let firstClosed: Promise<void> | undefined;
  const closeFirst = () => (firstClosed ??= first.close());

  afterAll(() => first && closeFirst());

  const publishInOrder = async (from: number, to: number) => {
    const { exchange } = amqpTopology(first.config.amqp);
    for (let n = from; n <= to; n += 1) {
      const body = { id: `sac-${n}`, recipients: { userIds: ['sac'] }, title: `#${n}` };
      broker.channel.publish(exchange, 'notification.step', Buffer.from(JSON.stringify(body)), {
        contentType: 'application/json',
        persistent: true,
      });
      if (n % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await broker.channel.waitForConfirms();
  };

  /** The user's titles in stored (id) order, once `count` are stored. */
  const storedTitles = async (count: number) => {
    const token = await userToken('sac');
    return eventually(
      async () => {
        const { body } = await api(second, 'GET', '/api/v1/notifications?limit=100', { token });
        const titles = (body.items as { title: string }[]).map((n) => n.title).reverse();
        expect(titles).toHaveLength(count);
        return titles;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
  };

  it('stores in publish order while two instances consume, and after the active one stops', async () => {
    await publishInOrder(1, 60);
    const expected = Array.from({ length: 60 }, (_, i) => `#${i + 1}`);
    expect(await storedTitles(60)).toEqual(expected);
    // The active consumer goes away: the other takes over, and the order still holds.
    await closeFirst();
    await publishInOrder(61, 100);
    expect(await storedTitles(100)).toEqual(Array.from({ length: 100 }, (_, i) => `#${i + 1}`));
  });
});
