import { connect } from 'amqplib';
import { Client } from 'pg';
import { HeraldProcess, startHeraldProcess } from '../../bench/support/herald-process';
import { HeraldConfig, loadConfig } from '../../src/config/herald-config';
import { amqpTopology, assertTopology } from '../../src/messaging/amqp-topology';
import { deleteTopology, queueDepth, TEST_AMQP_URL, TestBroker } from '../support/amqp';
import { RunningHerald, startHerald, TEST_JWT_SECRET } from '../support/herald';
import { SseClient } from '../support/sse';
import { createTestStorage, testDatabaseUrl, TestStorage, uniqueName } from '../support/storage';
import { userToken } from '../support/tokens';

/**
 * One fault test's world: a PostgreSQL schema and an AMQP prefix of its own, and the built Herald
 * (`node dist/main.js`, production mode) started as a process of its own, as many times as the
 * test restarts it.
 */
export class FaultRig {
  readonly env: Record<string, string>;
  readonly config: HeraldConfig;

  private constructor(
    readonly storage: TestStorage,
    extra: Record<string, string>,
  ) {
    this.env = {
      NODE_ENV: 'production',
      PORT: '0',
      LOG_LEVEL: 'info', // "Listening on" and "Consuming" tell when it is ready
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      AMQP_URL: TEST_AMQP_URL,
      AMQP_PREFIX: `${uniqueName('rel')}.`,
      ...storage.env,
      ...extra,
    };
    this.config = loadConfig(this.env);
  }

  static async create(extra: Record<string, string> = {}): Promise<FaultRig> {
    return new FaultRig(await createTestStorage('postgres'), extra);
  }

  /** Starts Herald (with `extra` over the rig's environment); resolves once it listens and consumes. */
  async start(
    extra: Record<string, string> = {},
  ): Promise<{ process: HeraldProcess; herald: RunningHerald }> {
    const process = startHeraldProcess({ ...this.env, ...extra });
    const url = await process.ready;
    return { process, herald: { url, config: this.config } as RunningHerald };
  }

  /**
   * Publishes `total` notifications, spread round-robin over `users`, as one confirmed burst (to
   * the broker at `url`): `id` is the idempotency key `<tag>-<n>`, `title` is `#<n>`.
   */
  async publishBurst(
    tag: string,
    users: string[],
    total: number,
    url = TEST_AMQP_URL,
  ): Promise<void> {
    const topology = amqpTopology(this.config.amqp);
    const connection = await connect(url);
    try {
      const channel = await connection.createConfirmChannel();
      await assertTopology(channel, topology);
      for (let n = 0; n < total; n += 1) {
        const body = {
          id: `${tag}-${n}`,
          recipients: { userIds: [users[n % users.length]] },
          title: `#${n}`,
        };
        const ok = channel.publish(
          topology.exchange,
          'notification.burst',
          Buffer.from(JSON.stringify(body)),
          {
            contentType: 'application/json',
            persistent: true,
          },
        );
        if (!ok) await new Promise((resolve) => channel.once('drain', resolve));
      }
      await channel.waitForConfirms();
    } finally {
      await connection.close();
    }
  }

  /** Rows stored, and distinct idempotency keys among them (equal = nothing stored twice). */
  async stored(): Promise<{ rows: number; keys: number }> {
    const client = new Client({ connectionString: testDatabaseUrl() });
    await client.connect();
    try {
      const { rows } = await client.query<{ rows: number; keys: number }>(
        `SELECT count(*)::int AS rows, count(DISTINCT (user_id, idempotency_key))::int AS keys
         FROM "${this.env.DATABASE_SCHEMA}".notifications`,
      );
      return rows[0];
    } finally {
      await client.end();
    }
  }

  /** Messages still in the ingest queue: waiting, and delivered but not acknowledged. */
  ingestQueue(): Promise<{ ready: number; unacked: number }> {
    return queueDepth(amqpTopology(this.config.amqp).ingestQueue);
  }

  /** Dead letters waiting (nothing should be dead-lettered by a fault). */
  async deadLetters(url = TEST_AMQP_URL): Promise<number> {
    const connection = await connect(url);
    try {
      const channel = await connection.createChannel();
      const { messageCount } = await channel.checkQueue(
        amqpTopology(this.config.amqp).deadLetterQueue,
      );
      return messageCount;
    } finally {
      await connection.close();
    }
  }

  async cleanup(): Promise<void> {
    await deleteTopology(this.config.amqp).catch(() => undefined);
    await this.storage.drop();
  }
}

export interface LoadRig {
  herald: RunningHerald;
  broker: TestBroker;
  database: Client;
  close: () => Promise<void>;
}

/**
 * An in-process Herald (PostgreSQL) without rate limits — the load of a test comes from one address
 * and few users — with a broker connection and a database client for the checks.
 */
export async function openLoadRig(): Promise<LoadRig> {
  const herald = await startHerald({
    storage: 'postgres',
    env: { RATE_LIMIT_PER_IP: '1000000', RATE_LIMIT_PER_USER: '1000000' },
  });
  const broker = await TestBroker.connect();
  const database = new Client({ connectionString: testDatabaseUrl() });
  await database.connect();
  return {
    herald,
    broker,
    database,
    close: async () => {
      await database.end();
      await broker.close();
      await herald.close();
    },
  };
}

/** A user's stream across reconnects: every notification id it received, in order. */
export class FollowedUser {
  readonly ids: string[] = [];
  /** The last unread count the stream sent. */
  unreadCount?: number;
  private client?: SseClient;
  private lastEventId?: string;
  private seen = 0;

  constructor(readonly userId: string) {}

  /** Times the server ended the stream and `follow` opened it again. */
  reopened = 0;
  /** Each connection that went live: when, and the `X-Herald-Instance` that served it, if any. */
  readonly connections: { at: number; instance?: string }[] = [];
  /** How long it was without a live stream, each time one ended (ms). */
  readonly gaps: number[] = [];
  private closed = false;

  /** Opens (or reopens, with Last-Event-ID) the stream; resolves once it is live. */
  async open(herald: RunningHerald): Promise<void> {
    this.take(); // everything of the previous connection, before its position is used
    const client = await SseClient.open(herald, {
      token: await userToken(this.userId),
      lastEventId: this.lastEventId,
    });
    if (client.status !== 200) {
      client.close();
      throw new Error(`${this.userId}: the stream answered ${client.status}`);
    }
    this.seen = 0;
    this.client = client;
    await client.nextOf('unread-count');
    const instance = client.response.headers['x-herald-instance'];
    this.connections.push({ at: Date.now(), instance: instance as string | undefined });
    this.take();
  }

  /**
   * Opens the stream and, as a browser does, opens it again whenever the server ends it: after
   * the server's last `retry:` when `browserLike`, at once otherwise, and again after that delay
   * (250 ms at least) while an attempt fails.
   */
  async follow(herald: RunningHerald, { browserLike = false } = {}): Promise<void> {
    await this.open(herald);
    void this.whenEnded().then(async () => {
      if (this.closed) return;
      const ended = Date.now();
      this.reopened += 1;
      this.take();
      const retry = browserLike ? (this.lastRetry ?? 0) : 0;
      for (let attempt = 0; !this.closed; attempt += 1) {
        if (retry > 0 || attempt > 0) {
          await new Promise((resolve) =>
            setTimeout(resolve, Math.max(retry, attempt > 0 ? 250 : 0)),
          );
        }
        try {
          await this.follow(herald, { browserLike });
          this.gaps.push(Date.now() - ended);
          return;
        } catch {
          if (!browserLike) return; // what it then misses fails the test
        }
      }
    });
  }

  /** The server's last `retry:`, as a browser keeps it. */
  private lastRetry?: number;

  /** Collects what arrived so far; the stream position moves with every event. */
  take(): void {
    const events = this.client?.events ?? [];
    for (; this.seen < events.length; this.seen += 1) {
      const event = events[this.seen];
      if (event.id !== undefined) this.lastEventId = event.id;
      if (event.retry !== undefined) this.lastRetry = event.retry;
      if (event.event === 'notification') this.ids.push((event.data as { id: string }).id);
      if (event.event === 'unread-count')
        this.unreadCount = (event.data as { count: number }).count;
      if (event.event === 'resync') throw new Error(`${this.userId}: resync (replay limit passed)`);
    }
  }

  whenEnded(): Promise<void> {
    return this.client?.whenEnded() ?? Promise.resolve();
  }

  close(): void {
    this.closed = true;
    this.client?.close();
  }
}

/** Waits for `check` to hold, polling every 50 ms; answers how long it took (ms). */
export async function timeUntil(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - started;
}

/** Waits until every followed user's streams brought at least `each` notifications. */
export async function receivedAll(followed: FollowedUser[], each: number): Promise<number> {
  try {
    return await timeUntil(() => {
      for (const user of followed) user.take();
      return followed.every((user) => user.ids.length >= each);
    }, 30_000);
  } catch (error) {
    const short = followed
      .filter((user) => user.ids.length < each)
      .map((user) => `${user.userId} ${user.ids.length}/${each}`);
    throw new Error(`streams short of notifications: ${short.join(', ')} (${String(error)})`);
  }
}

/**
 * Exactly once and in order: each stream received the ids stored for its user, in id order.
 * Answers the deliveries beyond the first of each id (0 when the expectation holds).
 */
export async function expectEachOnceInOrder(
  rig: FaultRig,
  streams: FollowedUser[],
): Promise<number> {
  let duplicated = 0;
  for (const user of streams) {
    duplicated += user.ids.length - new Set(user.ids).size;
    expect([user.userId, user.ids]).toEqual([user.userId, await storedIdsOf(rig, user.userId)]);
  }
  return duplicated;
}

async function storedIdsOf(rig: FaultRig, userId: string): Promise<string[]> {
  const client = new Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>(
      `SELECT n.id::text AS id FROM "${rig.env.DATABASE_SCHEMA}".notifications n WHERE n.user_id = $1 ORDER BY n.id`,
      [userId],
    );
    return rows.map((row) => row.id);
  } finally {
    await client.end();
  }
}
