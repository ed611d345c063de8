import { connect } from 'amqplib';
import { Client } from 'pg';
import { startHeraldProcess } from '../bench/support/herald-process';
import { loadConfig } from '../src/config/herald-config';
import { amqpTopology, assertTopology } from '../src/messaging/amqp-topology';
import { deleteTopology, TEST_AMQP_URL } from './support/amqp';
import { eventually } from './support/eventually';
import { RunningHerald, startHerald, TEST_JWT_SECRET } from './support/herald';
import { api } from './support/http';
import { SseClient } from './support/sse';
import { createTestStorage, testDatabaseUrl, TestStorage, uniqueName } from './support/storage';
import { userToken } from './support/tokens';

/**
 * The built Herald (`node dist/main.js`, as production runs it) in a process of its own: what it
 * logs, and how it stops on SIGTERM.
 */
describe('Herald as a process', () => {
  let storage: TestStorage;
  let env: Record<string, string>;

  beforeAll(async () => {
    storage = await createTestStorage('postgres');
    env = {
      NODE_ENV: 'production',
      PORT: '0',
      LOG_LEVEL: 'debug',
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      AMQP_URL: TEST_AMQP_URL,
      AMQP_PREFIX: `${uniqueName('proc')}.`,
      ...storage.env,
    };
  });

  afterAll(async () => {
    await deleteTopology(loadConfig(env).amqp);
    await storage?.drop();
  });

  /** Rows stored for the burst's user, and how many distinct messages they come from. */
  const counted = async () => {
    const client = new Client({ connectionString: testDatabaseUrl() });
    await client.connect();
    try {
      const { rows } = await client.query<{ rows: number; keys: number }>(
        `SELECT count(*)::int AS rows, count(DISTINCT idempotency_key)::int AS keys
         FROM "${env.DATABASE_SCHEMA}".notifications WHERE user_id = 's1'`,
      );
      return rows[0];
    } finally {
      await client.end();
    }
  };

  /** What the test helpers need to talk to a Herald in another process. */
  const reach = (url: string) => ({ url, config: loadConfig(env) }) as RunningHerald;

  it('logs JSON lines with request ids, and never a token or a ticket', async () => {
    const herald = startHeraldProcess(env);
    let output = '';
    herald.child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const running = reach(await herald.ready);
      const token = await userToken('logged');
      const listed = await api(running, 'GET', '/api/v1/notifications', {
        token,
        headers: { 'x-request-id': 'req-for-the-log' },
      });
      expect(listed.headers.get('x-request-id')).toBe('req-for-the-log');
      const { ticket } = (await api(running, 'POST', '/api/v1/stream/tickets', { token })).body;
      const stream = await SseClient.open(running, { query: `?ticket=${ticket}` });
      await stream.nextOf('unread-count');
      stream.close();
      await api(running, 'GET', '/api/v1/notifications', { token: `${token}x` }); // a 401
    } finally {
      await herald.stop();
    }
    const lines = output.trim().split('\n');
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, any>);
    expect(parsed.find((line) => line.req?.id === 'req-for-the-log')).toMatchObject({
      req: { headers: { authorization: '[redacted]' } },
      res: { statusCode: 200 },
    });
    expect(output).toContain('ticket=[redacted]');
    expect(output).not.toContain(TEST_JWT_SECRET);
    expect(output).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+/); // no JWT, whole or in part
    expect(output).not.toMatch(/ticket=(?!\[redacted\])/);
  });

  it('stops within 5 s on SIGTERM with open streams, and loses no message', async () => {
    // A backlog waits in the queue; Herald starts on it and gets SIGTERM in the middle of it.
    const total = 10000;
    const config = loadConfig(env);
    const connection = await connect(TEST_AMQP_URL);
    try {
      const channel = await connection.createConfirmChannel();
      await assertTopology(channel, amqpTopology(config.amqp));
      for (let i = 0; i < total; i += 1) {
        const body = { id: `burst-${i}`, recipients: { userIds: ['s1'] }, title: `#${i}` };
        channel.publish(
          amqpTopology(config.amqp).exchange,
          'notification.burst',
          Buffer.from(JSON.stringify(body)),
          {
            contentType: 'application/json',
            persistent: true,
          },
        );
      }
      await channel.waitForConfirms();
    } finally {
      await connection.close();
    }

    const herald = startHeraldProcess(env);
    const running = reach(await herald.ready);
    const streams = await Promise.all(
      ['s1', 's2'].map(async (userId) =>
        SseClient.open(running, { token: await userToken(userId) }),
      ),
    );
    // Both live (a stream still opening at shutdown just ends, without a hint), one receiving.
    await Promise.all(streams.map((stream) => stream.nextOf('unread-count')));
    await streams[0].nextOf('notification');
    const started = Date.now();
    const stopped = herald.stop();
    const hints = await Promise.all(
      streams.map((stream) =>
        stream.next((event) => event.comments.includes('shutting down: reconnect')),
      ),
    );
    await stopped;
    expect(Date.now() - started).toBeLessThan(5000);
    const storedAtStop = await counted();
    expect(storedAtStop.rows).toBeGreaterThan(0);
    expect(storedAtStop.rows).toBeLessThan(total); // it did stop in the middle
    expect(herald.child.exitCode).toBe(0);
    for (const hint of hints) {
      expect(hint.retry).toBeGreaterThanOrEqual(500);
      expect(hint.retry).toBeLessThanOrEqual(2000);
    }

    // What was not stored is still queued: a new Herald on the same queue stores the rest.
    const next = await startHerald({ storage, env: { AMQP_PREFIX: env.AMQP_PREFIX } });
    try {
      await eventually(async () => expect(await counted()).toEqual({ rows: total, keys: total }), {
        timeoutMs: 20_000,
        intervalMs: 100,
      });
    } finally {
      await next.close();
    }
  });
});
