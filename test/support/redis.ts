import { Redis } from 'ioredis';
import { redisKeys } from '../../src/messaging/redis-server';
import { uniqueName } from './storage';

export const TEST_REDIS_URL = process.env.HERALD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A producer on the machine's Redis, under a REDIS_PREFIX of the test's own. */
export class TestRedis {
  readonly prefix = `${uniqueName('redis')}:`;
  readonly keys = redisKeys(this.prefix);
  readonly client = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 3 });

  /** What a Herald reading this prefix needs. */
  get env(): Record<string, string> {
    return { REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: this.prefix };
  }

  /** XADD <prefix>notifications * message <body>; answers the entry id. */
  async add(body: unknown): Promise<string> {
    const message = typeof body === 'string' ? body : JSON.stringify(body);
    return (await this.client.xadd(this.keys.stream, '*', 'message', message))!;
  }

  /** PUBLISH <prefix>event.<name> <body>. */
  async publish(name: string, body: unknown): Promise<void> {
    await this.client.publish(`${this.prefix}event.${name}`, JSON.stringify(body));
  }

  /** The dead-letter stream's entries, as field → value. */
  async dead(): Promise<Record<string, string>[]> {
    const entries = await this.client.xrange(this.keys.deadStream, '-', '+');
    return entries.map(([, fields]) => {
      const record: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]] = fields[i + 1];
      return record;
    });
  }

  /** Entries read in group `herald` and not acknowledged yet. */
  async pending(): Promise<number> {
    const [count] = (await this.client.xpending(this.keys.stream, 'herald')) as [number];
    return Number(count);
  }

  async close(): Promise<void> {
    await this.client.del(this.keys.stream, this.keys.deadStream).catch(() => undefined);
    this.client.disconnect();
  }
}
