import {
  ConnectionStatus,
  HeraldClient,
  HeraldClientEvents,
  HeraldError,
} from '../client/src/herald-client';
import { REPLAY_LIMIT } from '../src/realtime/stream';
import { deleteTopology, TestBroker } from './support/amqp';
import { RunningHerald, startHerald } from './support/herald';
import { storeNotifications } from './support/notifications';
import { createTestStorage, TestStorage, uniqueName } from './support/storage';
import { userToken } from './support/tokens';

/** Resolves with the next `event` of `client` that satisfies `accept`. */
function next<K extends keyof HeraldClientEvents>(
  client: HeraldClient,
  event: K,
  accept: (value: HeraldClientEvents[K]) => boolean = () => true,
): Promise<HeraldClientEvents[K]> {
  return new Promise((resolve) => {
    const stop = client.on(event, (value) => {
      if (!accept(value)) return;
      stop();
      resolve(value);
    });
  });
}

/** Resolves once `check` holds of the client's state (now, or after a change). */
function until(client: HeraldClient, check: () => boolean): Promise<unknown> {
  return check() ? Promise.resolve() : next(client, 'change', check);
}

const becomes = (client: HeraldClient, status: ConnectionStatus) =>
  client.status === status ? Promise.resolve(status) : next(client, 'status', (s) => s === status);

/** The TypeScript client (client/) in Node, against a real Herald over real sockets. */
describe('HeraldClient', () => {
  let storage: TestStorage;
  let herald: RunningHerald;
  let broker: TestBroker;
  const clients: HeraldClient[] = [];

  const connect = (userId: string, options: { token?: () => Promise<string> } = {}) => {
    const client = new HeraldClient({
      url: herald.url,
      token: options.token ?? (() => userToken(userId)),
      minDelayMs: 50,
      maxDelayMs: 500,
    });
    clients.push(client);
    client.connect();
    return client;
  };

  beforeAll(async () => {
    storage = await createTestStorage('postgres');
    herald = await startHerald({ storage, env: { AMQP_PREFIX: `${uniqueName('amqp')}.` } });
    broker = await TestBroker.connect();
  });

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  afterAll(async () => {
    await broker?.close();
    await herald?.close();
    await storage?.drop();
    await deleteTopology(herald.config.amqp);
  });

  it('loads the inbox, then follows the stream: new notifications, updates, unread count', async () => {
    await storeNotifications(herald, { userIds: ['ada'], title: 'before' });
    const client = connect('ada');
    await until(client, () => client.notifications.length === 1);
    expect(client.status).toBe('open');
    expect(client.unreadCount).toBe(1);

    const arrived = next(client, 'notification');
    await broker.publish(herald, 'notification.test', {
      recipients: { userIds: ['ada'] },
      type: 'test',
      title: 'from RabbitMQ',
    });
    expect(await arrived).toMatchObject({ title: 'from RabbitMQ', readAt: null });
    await until(client, () => client.unreadCount === 2);
    expect(client.notifications.map((n) => n.title)).toEqual(['from RabbitMQ', 'before']);

    // A change made elsewhere (another tab) reaches this client through the stream.
    const other = connect('ada');
    await becomes(other, 'open');
    const before = client.notifications[1];
    const updated = next(client, 'notification.updated');
    await other.markRead(before.id);
    expect(await updated).toMatchObject({ id: before.id });
    await until(client, () => client.unreadCount === 1);
    expect(client.notifications[1].readAt).not.toBeNull();

    await client.archive(client.notifications[0].id);
    expect(client.notifications.map((n) => n.title)).toEqual(['before']);
    expect(await client.markAllRead()).toBe(0);
  });

  it('marks seen, takes actions, snoozes and changes in bulk, and follows those of other tabs', async () => {
    const [first, second] = await storeNotifications(
      herald,
      { userIds: ['lin'], actions: [{ id: 'ok', label: 'OK' }], category: 'ops' },
      2,
    );
    const client = connect('lin');
    const other = connect('lin');
    await until(client, () => client.notifications.length === 2 && client.unseenCount === 2);
    await until(other, () => other.notifications.length === 2);

    // Seen on one tab: the other's badge follows; both stay unread.
    expect(await client.markSeen()).toBe(2);
    expect(client.unseenCount).toBe(0);
    await until(other, () => other.unseenCount === 0 && other.notifications.every((n) => n.seenAt));
    expect(other.unreadCount).toBe(2);

    const acted = await client.act(first, 'ok');
    expect(acted).toMatchObject({ id: first, interaction: 'ok', readAt: expect.any(String) });
    await until(other, () => other.notifications.find((n) => n.id === first)?.interaction === 'ok');

    await client.snooze(second, new Date(Date.now() + 3_600_000));
    expect(client.notifications.map((n) => n.id)).toEqual([first]);
    await until(other, () => other.notifications.length === 1 && other.unreadCount === 0);
    await client.snooze(second, null);
    await until(other, () => other.notifications.length === 2); // woken: reloaded

    expect(await client.bulk({ category: 'ops' }, { archived: true })).toBe(2);
    await until(client, () => client.notifications.length === 0);
    await until(other, () => other.notifications.length === 0);
  });

  it('reconnects after a restart with a fresh ticket, and gets what arrived meanwhile, once', async () => {
    const client = connect('grace');
    await becomes(client, 'open');
    const [first] = await storeNotifications(herald, { userIds: ['grace'], title: 'first' });
    await next(client, 'notification', (n) => n.id === first);

    const port = Number(new URL(herald.url).port);
    const reconnecting = becomes(client, 'reconnecting');
    await herald.close();
    await reconnecting;
    for (const title of ['while down 1', 'while down 2']) {
      await broker.publish(herald, 'notification.test', {
        recipients: { userIds: ['grace'] },
        type: 'test',
        title,
      });
    }
    const titles: string[] = [];
    client.on('notification', (n) => titles.push(n.title));
    herald = await startHerald({ storage, port, env: { AMQP_PREFIX: herald.config.amqp.prefix } });
    await until(client, () => client.unreadCount === 3);
    expect(titles).toEqual(['while down 1', 'while down 2']);
    expect(client.notifications.map((n) => n.title)).toEqual([
      'while down 2',
      'while down 1',
      'first',
    ]);
  });

  it('renews an expired token from its provider and goes on', async () => {
    let issued = 0;
    const client = connect('linus', {
      token: () => {
        issued += 1;
        return userToken('linus', { expiresIn: issued === 1 ? 2 : 3600 });
      },
    });
    await next(client, 'auth-expired');
    await becomes(client, 'open');
    const [id] = await storeNotifications(herald, { userIds: ['linus'], title: 'after renewal' });
    expect(await next(client, 'notification')).toMatchObject({ id });
  });

  it('reloads the list over REST when Herald says resync', async () => {
    const client = connect('barbara');
    await becomes(client, 'open');
    client.close();
    // More than replay covers, stored while the client was away.
    await storeNotifications(herald, { userIds: ['barbara'] }, REPLAY_LIMIT + 1);
    const resync = next(client, 'resync');
    client.connect();
    await resync;
    await until(client, () => client.notifications.length === 50); // the newest page, over REST
    expect(client.unreadCount).toBe(REPLAY_LIMIT + 1);
  });

  it('says unauthorized, and keeps trying, when Herald refuses the token', async () => {
    const client = connect('mallory', { token: () => Promise.resolve('not-a-token') });
    await becomes(client, 'unauthorized');
    const refused = client.request('GET', '/notifications');
    await expect(refused).rejects.toBeInstanceOf(HeraldError);
    await expect(refused).rejects.toMatchObject({ status: 401 });
  });
});
