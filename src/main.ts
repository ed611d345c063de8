import './runtime'; // first: refuses an unsupported Node before NestJS loads
import { INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoLogger } from 'nestjs-pino';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { ConfigurationError } from './config/environment';
import { ConfigModule } from './config/config.module';
import { HeraldConfig } from './config/herald-config';
import { startIngest } from './messaging/messaging.module';

/** Orchestrators wait some 10-30 s after SIGTERM before SIGKILL; Herald is gone well before. */
const SHUTDOWN_TIMEOUT_MS = 4500;
/**
 * Connections the kernel holds until Herald accepts them: as many as it allows (it caps this at
 * net.core.somaxconn, see OPERATIONS.md). Node's 511 overflowed when 10,000 browsers reconnected
 * after a restart: each dropped connection attempt cost its client a SYN retransmit, 1 s, 3 s,
 * 7 s … later (58 s for the last of them).
 */
const LISTEN_BACKLOG = 65535;

async function bootstrap(): Promise<void> {
  // Configuration first, on its own: a bad variable is reported alone, before anything starts.
  const configContext = await NestFactory.createApplicationContext(ConfigModule, {
    logger: ['fatal'],
    abortOnError: false,
  });
  const config = configContext.get(HeraldConfig);
  await configContext.close();

  const app = await NestFactory.create(AppModule, {
    abortOnError: false,
    bufferLogs: true,
    // Open SSE streams must not hold shutdown hostage.
    forceCloseConnections: true,
  });
  app.useLogger(app.get(PinoLogger)); // JSON lines at LOG_LEVEL, see logging.module.ts
  configureApp(app);
  await startIngest(app);
  exitOnSignals(app);
  await app.init();
  // Not app.listen(), which has no backlog. No host: every interface (IPv6 and IPv4 where the
  // system has both), Node's default.
  const server = app.getHttpServer() as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG }, resolve);
  });
  const address = server.address() as AddressInfo;
  const storage = config.database.url ? 'PostgreSQL' : 'embedded PGlite';
  new Logger('Herald').log(`Listening on ${where(config.host, address.port)}, storage: ${storage}`);
}

/** "http://127.0.0.1:3000 (127.0.0.1 only)", or "http://localhost:3000 (all interfaces)". */
function where(host: string | undefined, port: number): string {
  if (!host || host === '0.0.0.0' || host === '::') {
    return `http://localhost:${port} (all interfaces)`;
  }
  return `http://${host.includes(':') ? `[${host}]` : host}:${port} (${host} only)`;
}

/**
 * SIGTERM/SIGINT: close the app (stop consuming, settle in-flight messages, close streams and
 * storage), then exit 0; a second signal or a hung close exits at once.
 */
function exitOnSignals(app: INestApplication): void {
  const logger = new Logger('Herald');
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.log(`${signal}: shutting down`);
      process.once(signal, () => process.exit(1));
      setTimeout(() => {
        logger.error(`Shutdown took longer than ${SHUTDOWN_TIMEOUT_MS} ms; exiting anyway`);
        process.exit(1);
      }, SHUTDOWN_TIMEOUT_MS).unref();
      app.close().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error(`Shutdown failed: ${(error as Error).stack ?? String(error)}`);
          process.exit(1);
        },
      );
    });
  }
}

bootstrap().catch((error: unknown) => {
  // A bad configuration is the operator's to fix: say what is wrong, without a stack trace.
  const message =
    error instanceof ConfigurationError ? error.message : ((error as Error).stack ?? String(error));
  new Logger('Herald').fatal(message);
  process.exit(1);
});
