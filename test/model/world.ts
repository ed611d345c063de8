import { join } from 'node:path';
import { connect } from 'amqplib';
import { Client } from 'pg';
import { HeraldProcess, startHeraldProcess } from '../../bench/support/herald-process';
import { HeraldConfig, loadConfig } from '../../src/config/herald-config';
import { amqpTopology } from '../../src/messaging/amqp-topology';
import { deleteTopology, queueDepth, TEST_AMQP_URL } from '../support/amqp';
import { RunningHerald, TEST_JWT_SECRET } from '../support/herald';
import { api, ApiRequest, ApiResponse } from '../support/http';
import {
  createTestStorage,
  StorageKind,
  testDatabaseUrl,
  TestStorage,
  uniqueName,
} from '../support/storage';
import { TcpProxy } from '../support/tcp-proxy';
import { userToken } from '../support/tokens';
import { ADMIN, User, userKey } from './model';

/** Every Herald this process started and has not seen exit: killed if the test process exits. */
const running = new Set<HeraldProcess>();
process.once('exit', () => {
  for (const herald of running) herald.child.kill('SIGKILL');
});

/** One Herald process of the run, reaching RabbitMQ through a proxy of its own (to cut it). */
export interface Instance {
  index: number;
  process: HeraldProcess;
  herald: RunningHerald;
  proxy: TcpProxy;
  alive: boolean;
}

/** What SQL says about the rows stored (read directly, as FaultRig.stored() does). */
export interface StoredCounts {
  rows: number;
  keys: number;
  /** (user, key) pairs stored more than once. */
  doubled: { tenant: string; user: string; key: string; rows: number }[];
  /** Rows of generated users beyond the pool (`w…`). */
  wideRows: number;
  wideUsers: number;
}

/**
 * The world one run of the model test works in: storage of its own (a PostgreSQL schema, or a
 * PGlite directory), an AMQP prefix of its own, and one or two built Heralds (`node dist/main.js`,
 * production mode) on them, each behind a TCP proxy to RabbitMQ. `cleanup()` removes it all.
 */
export class HeraldWorld {
  readonly instances: Instance[] = [];
  readonly env: Record<string, string>;
  readonly config: HeraldConfig;
  private readonly tokens = new Map<string, Promise<string>>();

  private constructor(
    readonly kind: StorageKind,
    readonly storage: TestStorage,
  ) {
    this.env = {
      NODE_ENV: 'production',
      PORT: '0',
      LOG_LEVEL: 'info', // "Listening on" and "Consuming" tell when it is ready
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      AMQP_PREFIX: `${uniqueName('model')}.`,
      // One client address and a few users make every request of the run.
      RATE_LIMIT_PER_IP: '1000000',
      RATE_LIMIT_PER_USER: '1000000',
      ...storage.env,
    };
    this.config = loadConfig({ ...this.env, AMQP_URL: TEST_AMQP_URL });
  }

  static async create(kind: StorageKind, instances: number): Promise<HeraldWorld> {
    const world = new HeraldWorld(kind, await createTestStorage(kind));
    try {
      for (let index = 0; index < instances; index += 1) {
        const proxy = await TcpProxy.start(
          '127.0.0.1',
          Number(new URL(TEST_AMQP_URL).port || 5672),
        );
        world.instances.push({
          index,
          proxy,
          alive: false,
          ...(await world.spawn(proxy)),
        });
        world.instances[index].alive = true;
      }
    } catch (error) {
      await world.cleanup();
      throw error;
    }
    return world;
  }

  get exchange(): string {
    return amqpTopology(this.config.amqp).exchange;
  }

  private async spawn(proxy: TcpProxy): Promise<Pick<Instance, 'process' | 'herald'>> {
    const url = new URL(TEST_AMQP_URL);
    url.port = String(proxy.port);
    const process = startHeraldProcess({ ...this.env, AMQP_URL: url.toString() });
    running.add(process);
    process.child.once('exit', () => running.delete(process));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        process.child.kill('SIGKILL');
        reject(new Error(`Herald not ready in 60 s:\n${process.output()}`));
      }, 60_000);
    });
    const base = await Promise.race([process.ready, late]).finally(() => clearTimeout(timer));
    return { process, herald: { url: base, config: this.config } as RunningHerald };
  }

  /** `kill -9`: no shutdown, nothing settled; streams end, unacknowledged messages go back. */
  kill(instance: Instance): Promise<void> {
    instance.alive = false;
    const exited = new Promise<void>((resolve) =>
      instance.process.child.once('exit', () => resolve()),
    );
    instance.process.child.kill('SIGKILL');
    return exited;
  }

  /** Starts the instance again on the same storage and prefix (a new port). */
  async restart(instance: Instance): Promise<void> {
    Object.assign(instance, await this.spawn(instance.proxy));
    instance.alive = true;
  }

  token(user: User): Promise<string> {
    const key = userKey(user);
    let token = this.tokens.get(key);
    if (!token) {
      token = userToken(user.id, {
        ...(user.tenant && { tenant: user.tenant }),
        ...(user === ADMIN && { roles: ['admin'] }),
      });
      this.tokens.set(key, token);
    }
    return token;
  }

  /** A request as `user` to an instance (the first live one by default). */
  async request<T = any>(
    user: User,
    method: string,
    path: string,
    request: Omit<ApiRequest, 'token'> = {},
    instance = this.live()[0],
  ): Promise<ApiResponse<T>> {
    return api<T>(instance.herald, method, path, { ...request, token: await this.token(user) });
  }

  live(): Instance[] {
    return this.instances.filter((instance) => instance.alive);
  }

  /** Messages in the ingest queue: waiting, and delivered but not acknowledged. */
  async ingestBacklog(): Promise<number> {
    const { ready, unacked } = await queueDepth(amqpTopology(this.config.amqp).ingestQueue);
    return ready + unacked;
  }

  async deadLetters(): Promise<number> {
    const connection = await connect(TEST_AMQP_URL);
    try {
      const channel = await connection.createChannel();
      const { deadLetterQueue } = amqpTopology(this.config.amqp);
      return (await channel.checkQueue(deadLetterQueue)).messageCount;
    } finally {
      await connection.close();
    }
  }

  /**
   * Counts rows straight from the schema. PGlite serves one process: its Heralds must be stopped
   * first (the run's end), PostgreSQL any time.
   */
  async stored(): Promise<StoredCounts> {
    const schema = this.env.DATABASE_SCHEMA;
    const [totals] = await this.query(
      `SELECT count(*)::int AS rows, count(DISTINCT (tenant_id, user_id, idempotency_key))::int AS keys,
          count(*) FILTER (WHERE user_id LIKE 'w%')::int AS "wideRows",
          count(DISTINCT user_id) FILTER (WHERE user_id LIKE 'w%')::int AS "wideUsers"
        FROM "${schema}".notifications`,
    );
    const doubled = await this.query(
      `SELECT tenant_id AS tenant, user_id AS user, idempotency_key AS key, count(*)::int AS rows
        FROM "${schema}".notifications GROUP BY 1, 2, 3 HAVING count(*) > 1 LIMIT 20`,
    );
    return { ...totals, doubled } as StoredCounts;
  }

  /** Every row of the pool's users (not generated ones), for a failure's dump. */
  async poolRows(): Promise<unknown[]> {
    const sql = `SELECT id::text AS id, tenant_id AS tenant, user_id AS "user", idempotency_key AS key,
        title, data->>'k' AS k, read_at IS NOT NULL AS read, archived_at IS NOT NULL AS archived,
        deleted_at IS NOT NULL AS deleted, expires_at AS "expiresAt", created_at AS "createdAt"
      FROM "${this.env.DATABASE_SCHEMA}".notifications WHERE user_id NOT LIKE 'w%' ORDER BY id`;
    return this.query(sql);
  }

  private async query(sql: string): Promise<any[]> {
    if (this.kind === 'postgres') {
      const client = new Client({ connectionString: testDatabaseUrl() });
      await client.connect();
      try {
        return (await client.query(sql)).rows;
      } finally {
        await client.end();
      }
    }
    if (this.live().length > 0) throw new Error('PGlite is read only once its Heralds stopped');
    const { PGlite } = await import('@electric-sql/pglite');
    const pglite = await PGlite.create(join(this.env.DATA_DIR, 'pglite'));
    try {
      return (await pglite.query<any>(sql)).rows;
    } finally {
      await pglite.close();
    }
  }

  /** SIGTERM to every Herald still running. */
  async stop(): Promise<void> {
    await Promise.all(
      this.live().map(async (instance) => {
        instance.alive = false;
        await instance.process.stop();
      }),
    );
  }

  async cleanup(): Promise<void> {
    for (const instance of this.instances) {
      if (instance.process.child.exitCode === null && instance.process.child.signalCode === null) {
        instance.process.child.kill('SIGKILL');
      }
      await instance.proxy.close().catch(() => undefined);
    }
    await deleteTopology(this.config.amqp).catch(() => undefined);
    await this.storage.drop();
  }
}
