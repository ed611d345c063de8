import { loadConfig } from '../src/config/herald-config';
import { deleteTopology, TestBroker } from './support/amqp';
import { RunningHerald, startHerald } from './support/herald';
import { eventually } from './support/eventually';
import { api } from './support/http';
import { SseEvent, TestStreams } from './support/sse';
import { createTestStorage, TestStorage, uniqueName } from './support/storage';
import { userToken } from './support/tokens';

const isLive = (event: SseEvent) => event.event === 'live';

async function subscribe(herald: RunningHerald, userId: string, topic: string): Promise<void> {
  const token = await userToken(userId);
  expect((await api(herald, 'PUT', `/api/v1/topics/${topic}`, { token })).status).toBe(204);
}

/** Live events (`event.*`, `POST /admin/events`) on one instance: events keep their order. */
describe('live events', () => {
  let herald: RunningHerald;
  let broker: TestBroker;
  const streams = new TestStreams();

  const open = async (userId: string, tenant?: string) =>
    streams.live(herald, { token: await userToken(userId, { tenant }) });
  const publish = (routingKey: string, body: object | string, messageId?: string) =>
    broker.publish(herald, routingKey, body, messageId ? { messageId } : {});

  beforeAll(async () => {
    herald = await startHerald({ storage: 'postgres' });
    broker = await TestBroker.connect();
  });

  afterEach(() => streams.closeAll());

  afterAll(async () => {
    await broker?.close();
    await herald?.close();
  });

  it('pushes to named users and topic followers, and stores nothing', async () => {
    await subscribe(herald, 'follower', 'ticker');
    const named = await open('named');
    const follower = await open('follower');
    const bystander = await open('bystander');

    await publish('event.price', {
      recipients: { userIds: ['named'], topics: ['ticker'] },
      data: { symbol: 'ACME', price: 42 },
    });
    expect(await named.next(isLive)).toMatchObject({
      id: '0', // the stream's position: a live event does not move it
      data: { type: 'price', data: { symbol: 'ACME', price: 42 } },
    });
    expect((await follower.next(isLive)).data).toEqual({
      type: 'price',
      data: { symbol: 'ACME', price: 42 },
      topic: 'ticker',
    });

    // The bystander's first live event is the next broadcast, not the one above.
    await publish('event.notice', { recipients: { broadcast: true }, data: { n: 1 } });
    expect((await bystander.next(isLive)).data).toMatchObject({ type: 'notice' });
    expect((await named.next(isLive)).data).toMatchObject({ type: 'notice' });

    const token = await userToken('named');
    const list = await api(herald, 'GET', '/api/v1/notifications', { token });
    expect(list.body.items).toEqual([]);
  });

  it('follows subscriptions made while the stream is open', async () => {
    const stream = await open('late-follower');
    await subscribe(herald, 'late-follower', 'progress');
    await publish('event.progress', { recipients: { topics: ['progress'] }, data: { pct: 50 } });
    expect((await stream.next(isLive)).data).toEqual({
      type: 'progress',
      data: { pct: 50 },
      topic: 'progress',
    });

    const token = await userToken('late-follower');
    expect((await api(herald, 'DELETE', '/api/v1/topics/progress', { token })).status).toBe(204);
    await publish('event.progress', { recipients: { topics: ['progress'] }, data: { pct: 99 } });
    await publish('event.marker', { recipients: { userIds: ['late-follower'] } });
    expect((await stream.next(isLive)).data).toMatchObject({ type: 'marker' });
  });

  it('gives a user named and subscribed one copy per event', async () => {
    await subscribe(herald, 'both', 'dupes');
    const stream = await open('both');
    await publish('event.once', { recipients: { userIds: ['both'], topics: ['dupes'] } });
    await publish('event.marker', { recipients: { userIds: ['both'] } });
    expect((await stream.next(isLive)).data).toEqual({ type: 'once', data: {} });
    expect((await stream.next(isLive)).data).toMatchObject({ type: 'marker' });
  });

  it('keeps tenants apart: a broadcast reaches its own tenant only', async () => {
    const acme = await open('tenant-user', 'acme');
    const globex = await open('tenant-user', 'globex');
    await publish('event.news', { recipients: { broadcast: true }, tenantId: 'acme' });
    await publish('event.marker', { recipients: { broadcast: true }, tenantId: 'globex' });
    expect((await acme.next(isLive)).data).toMatchObject({ type: 'news' });
    expect((await globex.next(isLive)).data).toMatchObject({ type: 'marker' });
  });

  it('takes live events from admins over HTTP (202), and refuses other callers', async () => {
    const stream = await open('admin-target');
    const admin = await userToken('root', { roles: ['admin'] });
    const body = { recipients: { userIds: ['admin-target'] }, type: 'typing', data: { by: 'x' } };
    const sent = await api(herald, 'POST', '/api/v1/admin/events', { token: admin, body });
    expect(sent.status).toBe(202);
    expect((await stream.next(isLive)).data).toEqual({ type: 'typing', data: { by: 'x' } });

    const user = await userToken('admin-target');
    const refused = await api(herald, 'POST', '/api/v1/admin/events', { token: user, body });
    expect(refused.status).toBe(403);
    const bad = await api(herald, 'POST', '/api/v1/admin/events', {
      token: admin,
      body: { ...body, type: 'a\r\nevent: forged' },
    });
    expect(bad).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^type /) } });
  });

  it('dead-letters a malformed live event with its reason', async () => {
    await publish('event.bad', { recipients: {}, data: 1 }, 'bad-live-1');
    await publish('event.bad', '{not json', 'bad-live-2');
    const [shape, json] = await broker.takeDeadLetters(herald, ['bad-live-1', 'bad-live-2']);
    expect(String(shape.properties.headers?.['x-herald-error'])).toMatch(
      /^invalid: recipients needs userIds, topics or broadcast: true/,
    );
    expect(json.properties.headers?.['x-herald-error-code']).toBe('invalid-json');
  });
});

/** Two instances sharing a broker and a database: a browser may be connected to either. */
describe('live events across instances', () => {
  let a: RunningHerald;
  let b: RunningHerald;
  let storage: TestStorage;
  let broker: TestBroker;
  const prefix = `${uniqueName('amqp')}.`;
  const streams = new TestStreams();

  const open = async (herald: RunningHerald, userId: string) =>
    streams.live(herald, { token: await userToken(userId) });
  const publish = (body: object) => broker.publish(a, 'event.tick', body);

  beforeAll(async () => {
    storage = await createTestStorage('postgres');
    a = await startHerald({ storage, env: { AMQP_PREFIX: prefix } });
    b = await startHerald({ storage, env: { AMQP_PREFIX: prefix } });
    broker = await TestBroker.connect();
  });

  afterEach(() => streams.closeAll());

  afterAll(async () => {
    await broker?.close();
    await a?.close();
    await b?.close();
    await storage?.drop();
    await deleteTopology(loadConfig({ AMQP_PREFIX: prefix }).amqp);
  });

  it('reaches named users, followers and everyone on whichever instance consumed it', async () => {
    await subscribe(a, 'far-follower', 'far');
    const named = await open(b, 'far-named');
    const follower = await open(b, 'far-follower');
    // Each instance consumes a share of the queue: several events reach both consumers.
    for (let n = 0; n < 6; n += 1) {
      await publish({ recipients: { userIds: ['far-named'], topics: ['far'] }, data: { n } });
    }
    for (let n = 0; n < 6; n += 1) {
      expect((await named.next(isLive)).data.data).toEqual({ n: expect.any(Number) });
      expect((await follower.next(isLive)).data.topic).toBe('far');
    }
    await publish({ recipients: { broadcast: true }, data: { all: true } });
    expect((await named.next(isLive)).data.data).toEqual({ all: true });
  });

  it('follows a subscription made through another instance', async () => {
    const stream = await open(b, 'roamer');
    await subscribe(a, 'roamer', 'roaming');
    // The change travels to B over the bus; until it lands, events to the topic pass B by.
    await eventually(async () => {
      await publish({ recipients: { topics: ['roaming'] }, data: {} });
      expect((await stream.next(isLive, 200)).data.topic).toBe('roaming');
    });
  });
});
