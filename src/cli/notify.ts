import '../runtime'; // first: refuses an unsupported Node before NestJS loads
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { parseArgs } from 'node:util';
import { ConfigModule } from '../config/config.module';
import { InvalidInputError } from '../common/domain-error';
import { validateInput } from '../common/validation';
import { CreateNotificationCommand } from '../notifications/intake/create-notification.command';
import { AmqpPublisher } from '../messaging/amqp-publisher';

const USAGE = `Publishes one notification to RabbitMQ, as any producer would.

Usage: npm run notify -- --user <id> [--user <id> …] --title "…" [options]

Options:
  --user <id>        recipient user id (repeat for several)
  --title <text>     title (required)
  --body <text>      body text
  --type <type>      notification type; the routing key is notification.<type> (default: general)
  --priority <p>     low | normal | high | critical (default: normal)
  --tenant <id>      tenant id
  --id <key>         idempotency key (default: none; every run stores a new notification)
  --data <json>      JSON object carried in "data"
  -h, --help         this text

Uses AMQP_URL, AMQP_EXCHANGE and AMQP_PREFIX (and .env) like Herald itself.`;

/** Just enough of Herald to publish: configuration and the confirming publisher. */
@Module({ imports: [ConfigModule], providers: [AmqpPublisher] })
class NotifyModule {}

function fail(message: string): never {
  process.stderr.write(`notify: ${message}\n\n${USAGE}\n`);
  process.exit(1);
}

function parse() {
  try {
    const { values } = parseArgs({
      options: {
        user: { type: 'string', multiple: true },
        title: { type: 'string' },
        body: { type: 'string' },
        type: { type: 'string', default: 'general' },
        priority: { type: 'string' },
        tenant: { type: 'string' },
        id: { type: 'string' },
        data: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    return values;
  } catch (error) {
    return fail((error as Error).message);
  }
}

async function main(): Promise<void> {
  const args = parse();
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!args.user?.length) fail('--user is required');
  if (!args.title) fail('--title is required');
  let data: unknown;
  if (args.data !== undefined) {
    try {
      data = JSON.parse(args.data);
    } catch {
      fail('--data must be JSON');
    }
  }
  const message = {
    id: args.id,
    recipients: { userIds: args.user },
    type: args.type,
    title: args.title,
    body: args.body,
    data,
    priority: args.priority,
    tenantId: args.tenant,
  };

  // Herald would dead-letter an invalid message; say what is wrong here instead.
  try {
    validateInput(CreateNotificationCommand, JSON.parse(JSON.stringify(message)));
  } catch (error) {
    if (error instanceof InvalidInputError) fail(error.message);
    throw error;
  }

  const app = await NestFactory.createApplicationContext(NotifyModule, { logger: ['error'] });
  try {
    const publisher = app.get(AmqpPublisher);
    await publisher.waitForConnect(10_000);
    const routingKey = `notification.${args.type}`;
    await publisher.publish(routingKey, message, { messageId: args.id });
    const { exchange } = publisher.topology;
    process.stdout.write(
      `Published to ${exchange} with routing key ${routingKey} (confirmed by the broker)\n`,
    );
  } finally {
    await app.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`notify: ${(error as Error).message ?? String(error)}\n`);
  process.exit(1);
});
