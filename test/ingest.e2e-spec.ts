import type { Logger } from '@nestjs/common';
import { ClientProxy, ClientProxyFactory, Transport } from '@nestjs/microservices';
import { Client } from 'pg';
import { firstValueFrom } from 'rxjs';
import { loadConfig } from '../src/config/herald-config';
import { amqpTopology } from '../src/messaging/amqp-topology';
import { Inbox } from '../src/notifications/inbox/inbox';
import { deleteTopology, queueDepth, rabbitmqctl, TEST_AMQP_URL, TestBroker } from './support/amqp';
import { eventually } from './support/eventually';
import { RunningHerald, startHerald } from './support/herald';
import {
  createTestStorage,
  STORAGE_KINDS,
  testDatabaseUrl,
  TestStorage,
  uniqueName,
} from './support/storage';
import { TcpProxy } from './support/tcp-proxy';

const message = (fields: object = {}) => ({
  recipients: { userIds: ['ingest-user'] },
  type: 'order.shipped',
  title: 'Your order has shipped',
  ...fields,
});

describe.each(STORAGE_KINDS)('RabbitMQ ingest on %s', (storage) => {
  let herald: RunningHerald;
  let broker: TestBroker;
  let inbox: Inbox;

  const stored = (userId: string) =>
    inbox.list({ userId, tenantId: null }, { limit: 100, status: 'all' });

  /** The user's inbox, once it holds `count` notifications. */
  const storedEventually = (userId: string, count: number) =>
    eventually(async () => {
      const page = await stored(userId);
      expect(page.items).toHaveLength(count);
      return page;
    });

  beforeAll(async () => {
    herald = await startHerald({ storage });
    broker = await TestBroker.connect();
    inbox = herald.app.get(Inbox);
  });

  afterAll(async () => {
    await broker?.close();
    await herald?.close();
  });

  it('stores a plain JSON message from an amqplib producer', async () => {
    await broker.publish(
      herald,
      'notification.order.shipped',
      message({
        id: 'plain-1',
        recipients: { userIds: ['plain-a', 'plain-b'] },
        body: 'Tracking number 1Z999',
        data: { orderId: 123 },
        priority: 'high',
        tenantId: undefined,
      }),
    );
    const page = await storedEventually('plain-b', 1);
    expect(page.items[0]).toMatchObject({
      userId: 'plain-b',
      type: 'order.shipped',
      title: 'Your order has shipped',
      body: 'Tracking number 1Z999',
      data: { orderId: 123 },
      priority: 'high',
    });
    expect((await stored('plain-a')).items).toHaveLength(1);
  });

  it('answers a request with reply_to after the commit', async () => {
    const reply = await broker.request(herald, 'notification.x', message({ id: 'rpc-1' }));
    expect(reply).toEqual({ ok: true, ids: [expect.stringMatching(/^\d+$/)] });
    // The reply came after the commit: the row is there now, no waiting.
    const page = await stored('ingest-user');
    expect(page.items.map((item) => item.id)).toContain(reply.ids[0]);

    const refused = await broker.request(herald, 'notification.x', { title: 'no recipients' });
    expect(refused).toEqual({
      ok: false,
      error: expect.stringContaining('invalid: recipients should not be null or undefined'),
    });
  });

  it('stores the same id once however often it arrives', async () => {
    const replies = [];
    for (let i = 0; i < 3; i += 1) {
      replies.push(
        await broker.request(
          herald,
          'notification.x',
          message({ id: 'thrice', recipients: { userIds: ['dedup'] } }),
        ),
      );
    }
    expect(new Set(replies.map((reply) => reply.ids[0])).size).toBe(1);
    expect((await stored('dedup')).items).toHaveLength(1);
  });

  it('uses the AMQP message_id when the body has no id, and the routing key for a missing type', async () => {
    const body = { recipients: { userIds: ['by-message-id'] }, title: 'keyed by message_id' };
    await broker.publish(herald, 'notification.invoice.paid', body, { messageId: 'mid-1' });
    await broker.publish(herald, 'notification.invoice.paid', body, { messageId: 'mid-1' });
    await broker.publish(
      herald,
      'notification.invoice.paid',
      message({ id: 'after-mid', recipients: { userIds: ['by-message-id'] } }),
    );
    const page = await storedEventually('by-message-id', 2);
    expect(page.items.map((item) => [item.title, item.type])).toEqual([
      ['Your order has shipped', 'order.shipped'],
      ['keyed by message_id', 'invoice.paid'],
    ]);
  });

  it('accepts NestJS ClientProxy.emit ({ pattern, data } envelope)', async () => {
    const client: ClientProxy = ClientProxyFactory.create({
      transport: Transport.RMQ,
      options: {
        urls: [TEST_AMQP_URL],
        queue: amqpTopology(herald.config.amqp).ingestQueue,
        noAssert: true,
        persistent: true,
      },
    });
    try {
      await firstValueFrom(
        client.emit(
          'notification.order.shipped',
          message({ id: 'nest-1', recipients: { userIds: ['nest-user'] } }),
        ),
        { defaultValue: undefined },
      );
      const page = await storedEventually('nest-user', 1);
      expect(page.items[0]).toMatchObject({
        type: 'order.shipped',
        title: 'Your order has shipped',
      });
    } finally {
      await client.close();
    }
  });

  it('dead-letters what can never be accepted, with the reason, and keeps consuming', async () => {
    const max = herald.config.amqp.maxMessageBytes;
    const dead = broker.takeDeadLetters(herald, [
      'bad-json',
      'no-recipients',
      'bad-priority',
      'too-big',
      'not-utf8',
      'array',
    ]);
    await broker.publish(herald, 'notification.x', '{"recipients": ', { messageId: 'bad-json' });
    await broker.publish(
      herald,
      'notification.x',
      { title: 'who for?' },
      { messageId: 'no-recipients' },
    );
    await broker.publish(herald, 'notification.x', message({ priority: 'urgent' }), {
      messageId: 'bad-priority',
    });
    await broker.publish(herald, 'notification.x', message({ body: 'x'.repeat(max) }), {
      messageId: 'too-big',
    });
    await broker.publish(herald, 'notification.x', Buffer.from([0xff, 0xfe, 0x7b]), {
      messageId: 'not-utf8',
    });
    await broker.publish(herald, 'notification.x', '[1, 2]', { messageId: 'array' });
    await broker.publish(
      herald,
      'notification.x',
      message({ id: 'after-bad', recipients: { userIds: ['survivor'] } }),
    );

    const reasons = Object.fromEntries(
      (await dead).map((letter) => [
        letter.properties.messageId,
        letter.properties.headers?.['x-herald-error'],
      ]),
    );
    expect(reasons).toEqual({
      'bad-json': expect.stringMatching(/^invalid-json: /),
      'no-recipients': 'invalid: recipients should not be null or undefined',
      'bad-priority': expect.stringMatching(
        /^invalid: priority must be one of the following values/,
      ),
      'too-big': `too-large: ${JSON.stringify(message({ body: 'x'.repeat(max) })).length} bytes, the limit is ${max}`,
      'not-utf8': expect.stringMatching(/^invalid-json: /),
      array: 'invalid: the message body must be a JSON object',
    });
    const survivor = await storedEventually('survivor', 1);
    expect(survivor.items[0].title).toBe('Your order has shipped');
  });

  it('keeps the original message and where it came from on a dead letter', async () => {
    const dead = broker.takeDeadLetters(herald, ['keep-me']);
    const content = '{"not": "a notification"}';
    await broker.publish(herald, 'notification.audit', content, {
      messageId: 'keep-me',
      headers: { trace: 't-1' },
    });
    const [letter] = await dead;
    expect(letter.content.toString()).toBe(content);
    expect(letter.fields.routingKey).toBe('notification.audit');
    expect(letter.properties.headers).toMatchObject({
      trace: 't-1',
      'x-herald-error-code': 'invalid',
      'x-herald-original-exchange': amqpTopology(herald.config.amqp).exchange,
      'x-herald-original-routing-key': 'notification.audit',
    });
  });

  it('acknowledges a message whose reply fails, once, and dead-letters it at most once', async () => {
    const { ingestQueue } = amqpTopology(herald.config.amqp);
    const warn = jest.spyOn((herald.ingest as unknown as { logger: Logger }).logger, 'warn');
    const channel = await broker.connection.createChannel();
    try {
      // A reply queue that refuses everything: the broker nacks every reply sent to it.
      const { queue: replyTo } = await channel.assertQueue('', {
        exclusive: true,
        arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' },
      });
      const dead = broker.takeDeadLetters(herald, ['refused-reply-bad']);
      await broker.publish(
        herald,
        'notification.x',
        message({ id: 'refused-reply-ok', recipients: { userIds: ['refused-reply'] } }),
        { replyTo, correlationId: 'c-ok' },
      );
      await broker.publish(
        herald,
        'notification.x',
        { title: 'who for?' },
        { messageId: 'refused-reply-bad', replyTo, correlationId: 'c-bad' },
      );
      const [letter] = await dead;
      expect(letter.properties.headers?.['x-herald-error']).toBe(
        'invalid: recipients should not be null or undefined',
      );
      // Both acknowledged: neither waits unacknowledged, to come back and be dead-lettered again.
      await eventually(
        async () => expect(await queueDepth(ingestQueue)).toEqual({ ready: 0, unacked: 0 }),
        {
          timeoutMs: 10_000,
          intervalMs: 200,
        },
      );
      expect((await stored('refused-reply')).items).toHaveLength(1);
      const lines = warn.mock.calls.map(([line]) => String(line));
      const refusals = lines.filter((line) => line.startsWith('Could not reply')).sort();
      expect(refusals).toEqual([
        expect.stringMatching(
          /^Could not reply to message \(no message_id\) at "amq\.gen-.*message nacked/,
        ),
        expect.stringMatching(/^Could not reply to message refused-reply-bad at .*message nacked/),
      ]);
      expect(lines.filter((line) => line.startsWith('Could not settle'))).toEqual([]);
      // Still consuming: the next request is answered.
      const after = await broker.request(
        herald,
        'notification.x',
        message({ id: 'after-refused' }),
      );
      expect(after).toMatchObject({ ok: true });
    } finally {
      warn.mockRestore();
      await channel.close().catch(() => undefined);
    }
  });

  it('stores 2,000 messages, all of them', async () => {
    const users = Array.from({ length: 20 }, (_, i) => `bulk-${i}`);
    for (let i = 0; i < 2000; i += 1) {
      broker.channel.publish(
        amqpTopology(herald.config.amqp).exchange,
        'notification.bulk',
        Buffer.from(
          JSON.stringify(message({ id: `bulk-${i}`, recipients: { userIds: [users[i % 20]] } })),
        ),
        { contentType: 'application/json', persistent: true },
      );
    }
    await broker.channel.waitForConfirms();
    await eventually(
      async () => {
        const counts = await Promise.all(
          users.map((userId) => inbox.unreadCount({ userId, tenantId: null })),
        );
        expect(counts).toEqual(users.map(() => 100));
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  });
});

describe('RabbitMQ ingest when the broker drops every connection', () => {
  let herald: RunningHerald;

  beforeAll(async () => {
    herald = await startHerald({ storage: 'postgres' });
  });

  afterAll(() => herald?.close());

  it('resumes consuming by itself and loses nothing', async () => {
    const inbox = herald.app.get(Inbox);
    const publishBurst = async (from: number, to: number) => {
      const producer = await TestBroker.connect();
      try {
        for (let i = from; i < to; i += 1) {
          producer.channel.publish(
            amqpTopology(herald.config.amqp).exchange,
            'notification.burst',
            Buffer.from(
              JSON.stringify(message({ id: `burst-${i}`, recipients: { userIds: ['burst'] } })),
            ),
            { contentType: 'application/json', persistent: true },
          );
        }
        await producer.channel.waitForConfirms();
      } finally {
        await producer.close();
      }
    };
    await publishBurst(0, 1000);
    await eventually(async () => {
      expect(await inbox.unreadCount({ userId: 'burst', tenantId: null })).toBeGreaterThan(0);
    });
    await rabbitmqctl('close_all_connections', 'herald e2e: connection cut mid-stream');
    await publishBurst(1000, 2000);
    await eventually(
      async () => {
        expect(await inbox.unreadCount({ userId: 'burst', tenantId: null })).toBe(2000);
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  });
});

describe('RabbitMQ ingest while PostgreSQL is unreachable', () => {
  let proxy: TcpProxy;
  let storage: TestStorage;
  let broker: TestBroker;
  const prefix = `${uniqueName('amqp')}.`;

  /** Herald reaches PostgreSQL only through the proxy, which the test can cut. */
  const start = () =>
    startHerald({
      storage,
      env: {
        AMQP_PREFIX: prefix,
        DATABASE_URL: testDatabaseUrl().replace('127.0.0.1:5432', `127.0.0.1:${proxy.port}`),
      },
    });

  beforeAll(async () => {
    const url = new URL(testDatabaseUrl());
    proxy = await TcpProxy.start(url.hostname, Number(url.port || 5432));
    storage = await createTestStorage('postgres');
    broker = await TestBroker.connect();
  });

  afterAll(async () => {
    await broker?.close();
    await proxy?.close();
    await storage?.drop();
    await deleteTopology(loadConfig({ AMQP_PREFIX: prefix }).amqp);
  });

  /** Rows of a user, read from PostgreSQL directly rather than through the cut-off Herald. */
  const directCount = async (userId: string) => {
    const client = new Client({ connectionString: testDatabaseUrl() });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${storage.env.DATABASE_SCHEMA}".notifications WHERE user_id = $1`,
        [userId],
      );
      return rows[0].n;
    } finally {
      await client.end();
    }
  };

  const publish = async (herald: RunningHerald, from: number, to: number, userId: string) => {
    for (let i = from; i < to; i += 1) {
      broker.channel.publish(
        amqpTopology(herald.config.amqp).exchange,
        'notification.outage',
        Buffer.from(
          JSON.stringify(message({ id: `outage-${i}`, recipients: { userIds: [userId] } })),
        ),
        { contentType: 'application/json', persistent: true },
      );
    }
    await broker.channel.waitForConfirms();
  };

  it('retries until the database is back, without a restart', async () => {
    const herald = await start();
    try {
      const inbox = herald.app.get(Inbox);
      proxy.block();
      await publish(herald, 0, 50, 'outage-retry');
      // Herald holds the messages unacknowledged while it retries: none is ready in the queue.
      await eventually(async () => {
        const queue = await broker.channel.checkQueue(amqpTopology(herald.config.amqp).ingestQueue);
        expect(queue.messageCount).toBe(0);
      });
      // Delivered, yet not stored: asked directly, not through the cut-off Herald.
      expect(await directCount('outage-retry')).toBe(0);
      proxy.unblock();
      await eventually(
        async () =>
          expect(await inbox.unreadCount({ userId: 'outage-retry', tenantId: null })).toBe(50),
        { timeoutMs: 20_000, intervalMs: 100 },
      );
    } finally {
      proxy.unblock();
      await herald.close();
    }
  });

  it('acknowledges nothing it has not stored: a stop during the outage leaves every message queued', async () => {
    let herald = await start();
    const queueName = amqpTopology(herald.config.amqp).ingestQueue;
    proxy.block();
    await publish(herald, 100, 160, 'outage-stop');
    await eventually(async () => {
      expect((await broker.channel.checkQueue(queueName)).messageCount).toBe(0);
    });
    await herald.close();
    // Back in the queue, all of them: none was acknowledged early.
    await eventually(async () => {
      expect((await broker.channel.checkQueue(queueName)).messageCount).toBe(60);
    });

    proxy.unblock();
    herald = await start();
    try {
      const inbox = herald.app.get(Inbox);
      await eventually(
        async () =>
          expect(await inbox.unreadCount({ userId: 'outage-stop', tenantId: null })).toBe(60),
        { timeoutMs: 20_000, intervalMs: 100 },
      );
    } finally {
      await herald.close();
    }
  });
});

describe('RabbitMQ ingest on quorum queues', () => {
  let herald: RunningHerald;
  let broker: TestBroker;

  beforeAll(async () => {
    herald = await startHerald({ storage: 'pglite', env: { AMQP_QUEUE_TYPE: 'quorum' } });
    broker = await TestBroker.connect();
  });

  afterAll(async () => {
    await broker?.close();
    await herald?.close();
  });

  it('declares quorum queues and stores through them', async () => {
    const { ingestQueue, deadLetterQueue } = amqpTopology(herald.config.amqp);
    const listed = await rabbitmqctl('list_queues', 'name', 'type', '--formatter', 'json');
    const types = Object.fromEntries(
      (JSON.parse(listed) as { name: string; type: string }[]).map((q) => [q.name, q.type]),
    );
    expect([types[ingestQueue], types[deadLetterQueue]]).toEqual(['quorum', 'quorum']);
    const reply = await broker.request(
      herald,
      'notification.x',
      message({ id: 'quorum-1', recipients: { userIds: ['quorum-user'] } }),
    );
    expect(reply).toMatchObject({ ok: true, ids: [expect.any(String)] });
  });
});
