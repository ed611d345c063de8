import { eventually } from './support/eventually';
import { RunningHerald, startHerald } from './support/herald';
import { api } from './support/http';
import { TestRedis } from './support/redis';
import { TestStreams } from './support/sse';
import { STORAGE_KINDS } from './support/storage';
import { userToken } from './support/tokens';

/** CONTRACT.md v1.1 "Redis as a second way in", against the machine's Redis. */
describe.each(STORAGE_KINDS)('Redis in, on %s', (storage) => {
  let herald: RunningHerald;
  let redis: TestRedis;
  const streams = new TestStreams();
  const inbox = async (userId: string) => {
    const token = await userToken(userId);
    const answer = await api(herald, 'GET', '/api/v1/notifications?limit=100', { token });
    return answer.body.items as { id: string; title: string; type: string }[];
  };
  const titlesOf = (userId: string, count: number) =>
    eventually(async () => {
      const items = await inbox(userId);
      expect(items).toHaveLength(count);
      return items.map((item) => item.title).reverse();
    });
  const message = (userId: string, fields: object = {}) => ({
    type: 'redis.test',
    recipients: { userIds: [userId] },
    title: 'From Redis',
    ...fields,
  });

  beforeAll(async () => {
    redis = new TestRedis();
    // A consumer of the group that reads an entry and stops without acknowledging it.
    await redis.client.xgroup('CREATE', redis.keys.stream, 'herald', '0', 'MKSTREAM');
    await redis.add(message('orphan', { title: 'left pending' }));
    await redis.client.xreadgroup('GROUP', 'herald', 'gone', 'STREAMS', redis.keys.stream, '>');
    expect(await redis.pending()).toBe(1);
    // Before Herald ever ran.
    await redis.add(message('early', { title: 'Sent before Herald started' }));
    herald = await startHerald({ storage, env: { ...redis.env, REDIS_CLAIM_IDLE_MS: '300' } });
  });

  afterEach(() => streams.closeAll());

  afterAll(async () => {
    await herald?.close();
    await redis?.close();
  });

  it('stores what was added before it started, and what comes after, in order', async () => {
    expect(await titlesOf('early', 1)).toEqual(['Sent before Herald started']);
    for (let n = 0; n < 50; n += 1) await redis.add(message('orderly', { title: `#${n}` }));
    expect(await titlesOf('orderly', 50)).toEqual(Array.from({ length: 50 }, (_, n) => `#${n}`));
    await eventually(async () => expect(await redis.pending()).toBe(0));
  });

  it('stores one notification per `id`, however often it is added', async () => {
    for (let n = 0; n < 3; n += 1) {
      await redis.add(message('twice', { id: 'redis-same-key', title: `copy ${n}` }));
    }
    await redis.add(message('twice', { title: 'after the copies' }));
    expect(await titlesOf('twice', 2)).toEqual(['copy 0', 'after the copies']);
  });

  it('is ready while it reads the stream: /health/ready says so', async () => {
    const ready = await api(herald, 'GET', '/health/ready');
    expect([ready.status, ready.body.info.redis]).toEqual([200, { status: 'up', reading: true }]);
  });

  it('moves what can never be stored to the dead-letter stream with the reason', async () => {
    const bad: [string, string][] = [
      ['{"recipients": ', 'invalid-json: '],
      [JSON.stringify({ title: 'who for?', type: 'x' }), 'invalid: recipients should not be'],
      [JSON.stringify(message('dl', { priority: 'urgent' })), 'invalid: priority must be one of'],
      [JSON.stringify(message('dl', { title: 'x'.repeat(300_000) })), 'too-large: '],
      [JSON.stringify(message('dl', { template: 'nope', title: undefined })), 'template: '],
      ['[1, 2]', 'invalid: the message body must be a JSON object'],
    ];
    for (const [body] of bad) await redis.add(body);
    await redis.client.xadd(redis.keys.stream, '*', 'other', 'field');
    await redis.add(message('dl', { title: 'after the bad ones' }));
    expect(await titlesOf('dl', 1)).toEqual(['after the bad ones']);
    const dead = await eventually(async () => {
      const entries = await redis.dead();
      expect(entries).toHaveLength(bad.length + 1);
      return entries;
    });
    // As it came (compared by its start and length: one is 300,000 characters), and why.
    const shown = (message: string, error: string) => [message.slice(0, 40), message.length, error];
    expect(dead.map((entry) => shown(entry.message, entry.error))).toEqual([
      ...bad.map(([body, reason]) => [
        body.slice(0, 40),
        body.length,
        expect.stringMatching(new RegExp(`^${reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`)),
      ]),
      ['', 0, 'invalid: the entry has no `message` field'],
    ]);
    expect(dead.every((entry) => /^\d+-\d+$/.test(entry.entry))).toBe(true);
    await eventually(async () => expect(await redis.pending()).toBe(0));
  });

  it('takes over an entry a stopped consumer left pending, once idle long enough', async () => {
    expect(await titlesOf('orphan', 1)).toEqual(['left pending']);
    await eventually(async () => expect(await redis.pending()).toBe(0));
  });

  it('pushes live events from pub/sub to connected recipients, never storing them', async () => {
    const token = await userToken('listener');
    const stream = await streams.live(herald, { token });
    // Herald subscribes as it starts: wait until its pattern is in place.
    await eventually(async () => expect(await redis.client.pubsub('NUMPAT')).toBeGreaterThan(0));
    await redis.publish('typing', {
      recipients: { userIds: ['listener'] },
      data: { conversation: 7 },
    });
    const live = await stream.nextOf('live');
    expect(live.data).toEqual({ type: 'typing', data: { conversation: 7 } });
    expect(await inbox('listener')).toEqual([]);
  });
});

describe('Redis in, with Redis unreachable', () => {
  let herald: RunningHerald;

  beforeAll(async () => {
    // Nothing listens on port 1: Herald serves HTTP and RabbitMQ, and says Redis is down.
    herald = await startHerald({ storage: 'pglite', env: { REDIS_URL: 'redis://127.0.0.1:1' } });
  });

  afterAll(() => herald?.close());

  it('stays ready (it serves streams and RabbitMQ), saying it does not read Redis', async () => {
    const ready = await api(herald, 'GET', '/health/ready');
    expect([ready.status, ready.body.info?.redis?.reading, ready.body.info?.rabbitmq]).toEqual([
      200,
      false,
      { status: 'up' },
    ]);
    const metrics = await api(herald, 'GET', '/metrics');
    expect(metrics.body).toMatch(/^herald_redis_reading 0$/m);
  });
});
