import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { HeraldConfig, loadConfig } from '../../src/config/herald-config';
import type { AmqpServer } from '../../src/messaging/amqp-server';
import { startIngest } from '../../src/messaging/messaging.module';
import { deleteTopology } from './amqp';
import { createTestStorage, StorageKind, TestStorage, uniqueName } from './storage';

export const TEST_JWT_SECRET = 'herald-e2e-secret-0123456789abcdef0123456789';

export interface RunningHerald {
  app: INestApplication;
  /** The RabbitMQ transport, already consuming. */
  ingest: AmqpServer;
  config: HeraldConfig;
  /** http://127.0.0.1:<port> */
  url: string;
  /** Pass it to another startHerald() for a restart or a second instance on the same data. */
  storage: TestStorage;
  close(): Promise<void>;
}

export interface StartOptions {
  storage: StorageKind | TestStorage;
  /**
   * Overrides (undefined unsets: `AUTH_JWT_SECRET: undefined` runs on the development secret); an
   * explicit AMQP_PREFIX (shared by several instances) is not cleaned up.
   */
  env?: Record<string, string | undefined>;
  /** A port of its own (default: any free one): a restart that clients reconnect to. */
  port?: number;
}

/**
 * Starts a whole Herald on a free port against fresh (or the given) storage, and resolves once
 * it consumes from RabbitMQ.
 */
export async function startHerald(options: StartOptions): Promise<RunningHerald> {
  const storage =
    typeof options.storage === 'string'
      ? await createTestStorage(options.storage)
      : options.storage;
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    AMQP_PREFIX: `${uniqueName('amqp')}.`,
    ...storage.env,
    ...options.env,
  });
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(HeraldConfig)
    .useValue(config)
    .compile();
  const app = configureApp(
    moduleRef.createNestApplication({
      logger: ['fatal', 'error', 'warn'],
      forceCloseConnections: true,
    }),
  );
  const ingest = await startIngest(app);
  await app.listen(options.port ?? 0, '127.0.0.1');
  await ingest.whenConsuming();
  const { port } = app.getHttpServer().address() as { port: number };
  return {
    app,
    ingest,
    config,
    url: `http://127.0.0.1:${port}`,
    storage,
    close: async () => {
      await app.close();
      if (typeof options.storage === 'string') await storage.drop();
      if (!options.env?.AMQP_PREFIX) await deleteTopology(config.amqp);
    },
  };
}
