import { firstValueFrom } from 'rxjs';
import { RealtimeBus } from '../src/realtime/realtime-bus';
import { REPLAY_LIMIT } from '../src/realtime/stream';
import { Streams } from '../src/realtime/streams';
import { loadConfig } from '../src/config/herald-config';
import { deleteTopology, dropRealtimeConnection, TestBroker } from './support/amqp';
import { RunningHerald, startHerald } from './support/herald';
import { api } from './support/http';
import { storeNotifications } from './support/notifications';
import { SseClient, TestStreams } from './support/sse';
import { createTestStorage, STORAGE_KINDS, TestStorage, uniqueName } from './support/storage';
import { userToken } from './support/tokens';

describe.each(STORAGE_KINDS)('SSE stream on %s', (storage) => {
  let herald: RunningHerald;
  const streams = new TestStreams();

  const open = async (userId: string, options: { lastEventId?: string; query?: string } = {}) => {
    const client = await SseClient.open(herald, { token: await userToken(userId), ...options });
    streams.track(client);
    return client;
  };

  beforeAll(async () => {
    herald = await startHerald({ storage, env: { SSE_HEARTBEAT_MS: '1000' } });
  });

  afterEach(() => streams.closeAll());

  afterAll(() => herald?.close());

  it('opens with retry, the position and the unread count', async () => {
    const fresh = await open('fresh');
    expect(fresh.status).toBe(200);
    expect(fresh.response.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(await fresh.next()).toMatchObject({
      event: 'unread-count',
      id: '0',
      retry: 3000,
      data: { count: 0 },
    });

    const [, latest] = await storeNotifications(herald, { userIds: ['veteran'] }, 2);
    const veteran = await open('veteran');
    expect(await veteran.next()).toMatchObject({
      event: 'unread-count',
      id: latest,
      data: { count: 2 },
    });
  });

  it('delivers a notification live to its user only, with id = the notification id', async () => {
    const alice = await open('live-alice');
    const bob = await open('live-bob');
    await alice.nextOf('unread-count');
    await bob.nextOf('unread-count');
    const [forAlice] = await storeNotifications(herald, { userIds: ['live-alice'], title: 'A' });
    const [forBob] = await storeNotifications(herald, { userIds: ['live-bob'], title: 'B' });
    expect(await alice.nextOf('notification')).toMatchObject({
      id: forAlice,
      data: { id: forAlice, userId: 'live-alice', title: 'A' },
    });
    expect(await alice.nextOf('unread-count')).toMatchObject({ id: forAlice, data: { count: 1 } });
    expect(await bob.nextOf('notification')).toMatchObject({ id: forBob, data: { title: 'B' } });
    expect(alice.events.filter((event) => event.event === 'notification')).toHaveLength(1);
  });

  it('delivers what RabbitMQ brings in', async () => {
    const stream = await open('via-broker');
    await stream.nextOf('unread-count');
    const broker = await TestBroker.connect();
    try {
      await broker.publish(herald, 'notification.order.shipped', {
        recipients: { userIds: ['via-broker'] },
        title: 'Your order has shipped',
      });
    } finally {
      await broker.close();
    }
    expect(await stream.nextOf('notification')).toMatchObject({
      data: { type: 'order.shipped', title: 'Your order has shipped' },
    });
  });

  it.each([
    ['the Last-Event-ID header', (id: string) => ({ lastEventId: id })],
    ['the lastEventId query', (id: string) => ({ query: `?lastEventId=${id}` })],
  ])('replays what was missed after %s, then goes on live', async (_, reconnect) => {
    const user = `replay-${Math.random()}`;
    const first = await open(user);
    await first.nextOf('unread-count');
    const [seen] = await storeNotifications(herald, { userIds: [user] });
    expect((await first.nextOf('notification')).id).toBe(seen);
    first.close();

    const missed = await storeNotifications(herald, { userIds: [user] }, 5);
    const again = await open(user, reconnect(seen));
    expect(await again.next()).toMatchObject({
      event: 'unread-count',
      id: seen,
      data: { count: 6 },
    });
    for (const id of missed) expect((await again.nextOf('notification')).id).toBe(id);
    const [later] = await storeNotifications(herald, { userIds: [user] });
    expect((await again.nextOf('notification')).id).toBe(later);
  });

  it('hands over from replay to live without a gap or a duplicate during a burst', async () => {
    const user = 'burst-reader';
    const [start] = await storeNotifications(herald, { userIds: [user] });
    const burst = (async () => {
      const ids: string[] = [];
      for (let i = 0; i < 40; i += 1)
        ids.push(...(await storeNotifications(herald, { userIds: [user] })));
      return ids;
    })();
    const stream = await open(user, { lastEventId: start });
    const expected = await burst;
    const received: string[] = [];
    while (received.length < expected.length) {
      received.push((await stream.nextOf('notification')).id!);
    }
    expect(received).toEqual(expected);
  });

  it(`sends resync when more than ${REPLAY_LIMIT} were missed`, async () => {
    const user = 'long-gone';
    const ids = await storeNotifications(herald, { userIds: [user] }, REPLAY_LIMIT + 1);
    const stream = await open(user, { lastEventId: '0' });
    expect(await stream.next()).toMatchObject({ event: 'unread-count', id: ids[ids.length - 1] });
    expect(await stream.next()).toMatchObject({
      event: 'resync',
      id: ids[ids.length - 1],
      data: { reason: 'replay-limit' },
    });
    expect(stream.events.some((event) => event.event === 'notification')).toBe(false);
  });

  it('tells every tab of the user about a change made in one of them', async () => {
    const user = 'two-tabs';
    const token = await userToken(user);
    const [id] = await storeNotifications(herald, { userIds: [user] });
    const tabA = await open(user);
    const tabB = await open(user);
    await tabA.nextOf('unread-count');
    await tabB.nextOf('unread-count');
    await api(herald, 'PATCH', `/api/v1/notifications/${id}`, { token, body: { read: true } });
    for (const tab of [tabA, tabB]) {
      const updated = await tab.nextOf('notification.updated');
      expect(updated).toMatchObject({ id, data: { id, archivedAt: null } });
      expect(Date.parse(updated.data.readAt)).toBeGreaterThan(0);
      expect(await tab.nextOf('unread-count')).toMatchObject({ data: { count: 0 } });
    }
    await api(herald, 'DELETE', `/api/v1/notifications/${id}`, { token });
    expect(await tabB.nextOf('notification.updated')).toMatchObject({
      data: { id, deleted: true },
    });
  });

  it('sends a heartbeat comment every SSE_HEARTBEAT_MS', async () => {
    const stream = await open('heartbeat');
    expect(await stream.next((event) => event.comments.includes('ping'), 3000)).toBeDefined();
  });

  it('ends the stream with auth-expired when the token expires', async () => {
    const token = await userToken('expiring', { expiresIn: 2 });
    const stream = await SseClient.open(herald, { token });
    streams.track(stream);
    expect(await stream.nextOf('auth-expired', 5000)).toMatchObject({ id: '0' });
    await stream.whenEnded();
  });

  it('refuses a stream without a token, and a malformed Last-Event-ID', async () => {
    const anonymous = await SseClient.open(herald);
    streams.track(anonymous);
    expect(anonymous.status).toBe(401);
    const bad = await open('bad-id', { lastEventId: '12abc' });
    expect(bad.status).toBe(400);
  });
});

describe('SSE stream at shutdown', () => {
  it('ends open streams when Herald closes', async () => {
    const herald = await startHerald({ storage: 'pglite' });
    const stream = await SseClient.open(herald, { token: await userToken('leaving') });
    await stream.nextOf('unread-count');
    const started = Date.now();
    await herald.close();
    await stream.whenEnded();
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('SSE stream tickets', () => {
  let herald: RunningHerald;
  const streams = new TestStreams();

  const ticketFor = async (userId: string, expiresIn?: number) => {
    const token = await userToken(userId, { expiresIn });
    const response = await api(herald, 'POST', '/api/v1/stream/tickets', { token });
    expect(response.status).toBe(201);
    return response.body as { ticket: string; expiresAt: string };
  };

  const openWith = async (ticket: string) => {
    const client = await SseClient.open(herald, { query: `?ticket=${encodeURIComponent(ticket)}` });
    streams.track(client);
    return client;
  };

  beforeAll(async () => {
    herald = await startHerald({ storage: 'postgres' });
  });

  afterEach(() => streams.closeAll());

  afterAll(() => herald?.close());

  it('opens the stream of the user it was issued to, for at most 60 s', async () => {
    const { ticket, expiresAt } = await ticketFor('ticket-holder');
    expect(ticket).toMatch(/^[\w-]{43}$/);
    const lifetime = Date.parse(expiresAt) - Date.now();
    expect(lifetime).toBeGreaterThan(50_000);
    expect(lifetime).toBeLessThanOrEqual(60_000);
    const stream = await openWith(ticket);
    expect(stream.status).toBe(200);
    await stream.nextOf('unread-count');
    const [id] = await storeNotifications(herald, { userIds: ['ticket-holder'] });
    expect(await stream.nextOf('notification')).toMatchObject({
      id,
      data: { userId: 'ticket-holder' },
    });
  });

  it('is single use', async () => {
    const { ticket } = await ticketFor('once');
    expect((await openWith(ticket)).status).toBe(200);
    const again = await openWith(ticket);
    expect(again.status).toBe(401);
  });

  it('never outlives the token it came from, and the stream ends with it', async () => {
    const { ticket, expiresAt } = await ticketFor('short-token', 2);
    expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(2000);
    const stream = await openWith(ticket);
    await stream.nextOf('auth-expired', 5000);
    await stream.whenEnded();
  });

  it('refuses unknown tickets, tickets without a token, and tickets on other routes', async () => {
    expect((await openWith('x'.repeat(43))).status).toBe(401);
    expect((await openWith('not a ticket')).status).toBe(401);
    expect((await api(herald, 'POST', '/api/v1/stream/tickets')).status).toBe(401);
    const { ticket } = await ticketFor('elsewhere');
    const list = await api(herald, 'GET', `/api/v1/notifications?ticket=${ticket}`);
    expect(list.status).toBe(401);
  });
});

describe('SSE stream across instances', () => {
  let a: RunningHerald;
  let b: RunningHerald;
  let storage: TestStorage;
  const prefix = `${uniqueName('amqp')}.`;
  const streams = new TestStreams();

  const open = async (herald: RunningHerald, userId: string) =>
    streams.live(herald, { token: await userToken(userId) });

  beforeAll(async () => {
    storage = await createTestStorage('postgres');
    a = await startHerald({ storage, env: { AMQP_PREFIX: prefix } });
    b = await startHerald({ storage, env: { AMQP_PREFIX: prefix } });
  });

  afterEach(() => streams.closeAll());

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await storage?.drop();
    await deleteTopology(loadConfig({ AMQP_PREFIX: prefix }).amqp);
  });

  it('delivers a notification stored by instance A to a stream on instance B, once', async () => {
    const onB = await open(b, 'roaming');
    const [id] = await storeNotifications(a, { userIds: ['roaming'], title: 'from A' });
    expect(await onB.nextOf('notification')).toMatchObject({ id, data: { title: 'from A' } });
    expect(await onB.nextOf('unread-count')).toMatchObject({ data: { count: 1 } });
    const [next] = await storeNotifications(b, { userIds: ['roaming'], title: 'from B' });
    expect(await onB.nextOf('notification')).toMatchObject({ id: next });
    expect(onB.events.filter((event) => event.event === 'notification')).toHaveLength(2);
  });

  it('delivers a burst stored by A (sent to B as one message) to the streams on both, once', async () => {
    const users = Array.from({ length: 50 }, (_, i) => `burst-${i}`);
    const onB = await open(b, users[7]);
    const otherOnB = await open(b, users[42]);
    const onA = await open(a, users[0]);
    const ids = await storeNotifications(a, { userIds: users, title: 'burst' });
    expect(ids).toHaveLength(50);
    for (const [stream, index] of [
      [onB, 7],
      [otherOnB, 42],
      [onA, 0],
    ] as const) {
      expect(await stream.nextOf('notification')).toMatchObject({ id: ids[index] });
    }
    const [after] = await storeNotifications(a, { userIds: [users[7]], title: 'next' });
    // The next one is the next notification on B: the burst was not delivered twice.
    expect(await onB.nextOf('notification')).toMatchObject({ id: after });
  });

  it('tells a tab on A about a change made through B', async () => {
    const user = 'two-instances';
    const [id] = await storeNotifications(a, { userIds: [user] });
    const onA = await open(a, user);
    await api(b, 'PATCH', `/api/v1/notifications/${id}`, {
      token: await userToken(user),
      body: { archived: true },
    });
    const updated = await onA.nextOf('notification.updated');
    expect(updated).toMatchObject({ data: { id, readAt: null } });
    expect(Date.parse(updated.data.archivedAt)).toBeGreaterThan(0);
  });

  it('ends a stream on B that lost a notification while its bus was away, and only that one', async () => {
    const token = await userToken('bus-lost');
    const onB = await streams.live(b, { token });
    const calm = await open(b, 'bus-calm');
    const [before] = await storeNotifications(a, { userIds: ['bus-lost'], title: 'before' });
    expect(await onB.nextOf('notification')).toMatchObject({ id: before });
    // B's bus connection drops: its queue goes with it, and what A stores meanwhile with that.
    // Nothing follows it for this user, so no gap would ever tell the stream.
    const reconnected = await dropRealtimeConnection(b);
    const [lost] = await storeNotifications(a, { userIds: ['bus-lost'], title: 'while away' });
    expect(reconnected()).toBe(false); // stored while B had no queue: the case under test
    // Once the bus is back, the stream is told what storage holds, and ends when it does not
    // get there (within 5 s, as for a predecessor).
    await onB.whenEnded();
    expect(onB.events.at(-1)).toMatchObject({
      id: before,
      retry: expect.any(Number),
      comments: ['realtime bus was away: reconnect'],
    });
    expect(onB.events.some((event) => event.id === lost)).toBe(false);
    const again = await streams.live(b, { token, lastEventId: before });
    expect(again.events.filter((event) => event.event === 'notification')).toMatchObject([
      { id: lost, data: { title: 'while away' } },
    ]);
    // The other user's stream lost nothing: still open, on the same connection.
    const [next] = await storeNotifications(a, { userIds: ['bus-calm'] });
    expect(await calm.nextOf('notification')).toMatchObject({ id: next });
  });

  it("has every instance check its streams when one's bus is back (what it sent may be lost)", async () => {
    const heard = firstValueFrom(b.app.get(RealtimeBus).lost$);
    const reconnected = await dropRealtimeConnection(a);
    await heard;
    expect(reconnected()).toBe(true);
  });

  it("does not send a user's changes to an instance without their streams", async () => {
    const onA = await open(a, 'stays-on-a');
    const onB = await open(b, 'watcher-on-b');
    await storeNotifications(a, { userIds: ['stays-on-a'] });
    await onA.nextOf('notification');
    const [forWatcher] = await storeNotifications(a, { userIds: ['watcher-on-b'] });
    // B's first notification is the watcher's own: nothing of the other user came before it.
    expect(await onB.nextOf('notification')).toMatchObject({ id: forWatcher });
  });
});

describe('SSE stream and a client that stops reading', () => {
  it('is cut off instead of buffering without bound', async () => {
    const herald = await startHerald({ storage: 'postgres' });
    try {
      const stream = await SseClient.open(herald, { token: await userToken('sleepy') });
      await stream.nextOf('unread-count');
      stream.response.pause(); // the client reads nothing more; the kernel buffers fill up
      const streams = herald.app.get(Streams);
      expect(streams.connections).toBe(1);
      const body = 'x'.repeat(10_000);
      let stored = 0;
      // Bounded: 40 MB at most, far beyond socket buffers plus Herald's 256 KiB allowance.
      while (streams.connections > 0 && stored < 4000) {
        await storeNotifications(herald, { userIds: ['sleepy'], body }, 200);
        stored += 200;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // The server let go of the stream while the client was still there, paused.
      expect(streams.connections).toBe(0);
      expect(stored).toBeLessThan(4000);
      stream.response.resume();
      await stream.whenEnded();
    } finally {
      await herald.close();
    }
  });
});
