import { ConsoleLogger, INestApplication, Logger, LogLevel as NestLogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { ConfigurationError, LogLevel } from './config/environment';
import { ConfigModule } from './config/config.module';
import { HeraldConfig } from './config/herald-config';
import { startIngest } from './messaging/messaging.module';

const SHUTDOWN_TIMEOUT_MS = 10_000;

const NEST_LEVELS: Record<LogLevel, NestLogLevel[]> = {
  fatal: ['fatal'],
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  trace: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

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
    logger: new ConsoleLogger({ logLevels: NEST_LEVELS[config.logLevel] }),
    // Open SSE streams must not hold shutdown hostage.
    forceCloseConnections: true,
  });
  configureApp(app);
  await startIngest(app);
  exitOnSignals(app);
  await app.listen(config.port);
  const address = (app.getHttpServer() as Server).address() as AddressInfo;
  new Logger('Herald').log(
    `Listening on http://localhost:${address.port} (storage: ${config.database.url ? 'PostgreSQL' : 'embedded PGlite'})`,
  );
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
