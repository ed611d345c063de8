import type { AmqpConnectionManager } from 'amqp-connection-manager';
import { Channel, ChannelModel, ConfirmChannel, connect, ConsumeMessage, Options } from 'amqplib';
import { amqpTopology } from '../../src/messaging/amqp-topology';
import { RealtimeBus } from '../../src/realtime/realtime-bus';
import type { RunningHerald } from './herald';

export const TEST_AMQP_URL =
  process.env.HERALD_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** A plain amqplib producer, as a service in any language would be. */
export class TestBroker {
  private constructor(
    readonly connection: ChannelModel,
    readonly channel: ConfirmChannel,
  ) {}

  static async connect(): Promise<TestBroker> {
    const connection = await connect(TEST_AMQP_URL);
    // A test that cuts connections on purpose must not crash the run with an unhandled 'error'.
    connection.on('error', () => undefined);
    const channel = await connection.createConfirmChannel();
    channel.on('error', () => undefined);
    return new TestBroker(connection, channel);
  }

  /** Publishes to Herald's exchange and waits for the broker's confirm. */
  async publish(
    herald: RunningHerald,
    routingKey: string,
    body: unknown,
    properties: Options.Publish = {},
  ): Promise<void> {
    const content = Buffer.isBuffer(body)
      ? body
      : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    this.channel.publish(amqpTopology(herald.config.amqp).exchange, routingKey, content, {
      contentType: 'application/json',
      persistent: true,
      ...properties,
    });
    await this.channel.waitForConfirms();
  }

  /** Publishes with reply_to (direct reply-to) and resolves with Herald's answer. */
  async request(herald: RunningHerald, routingKey: string, body: unknown): Promise<any> {
    const channel: Channel = await this.connection.createChannel();
    try {
      const correlationId = `${Date.now()}-${Math.random()}`;
      let answer!: (body: any) => void;
      const reply = new Promise<any>((resolve) => (answer = resolve));
      // Direct reply-to: consume first, then publish on the same channel.
      await channel.consume(
        'amq.rabbitmq.reply-to',
        (message) => {
          if (message?.properties.correlationId === correlationId) {
            answer(JSON.parse(message.content.toString()));
          }
        },
        { noAck: true },
      );
      channel.publish(
        amqpTopology(herald.config.amqp).exchange,
        routingKey,
        Buffer.from(JSON.stringify(body)),
        { contentType: 'application/json', replyTo: 'amq.rabbitmq.reply-to', correlationId },
      );
      return await reply;
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  /**
   * Resolves with the dead letters whose message_id is in `messageIds` (in that order), once all
   * have arrived; other dead letters are taken and ignored.
   */
  async takeDeadLetters(herald: RunningHerald, messageIds: string[]): Promise<ConsumeMessage[]> {
    const channel = await this.connection.createChannel();
    const { deadLetterQueue } = amqpTopology(herald.config.amqp);
    const taken = new Map<string, ConsumeMessage>();
    try {
      return await new Promise<ConsumeMessage[]>((resolve) => {
        void channel.consume(deadLetterQueue, (message) => {
          if (!message) return;
          channel.ack(message);
          const id = message.properties.messageId as string;
          if (messageIds.includes(id)) taken.set(id, message);
          if (taken.size === messageIds.length) resolve(messageIds.map((key) => taken.get(key)!));
        });
      });
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}

/** Deletes what a test Herald declared on the broker, so runs leave nothing behind. */
export async function deleteTopology(amqp: RunningHerald['config']['amqp']): Promise<void> {
  const connection = await connect(TEST_AMQP_URL);
  try {
    const channel = await connection.createChannel();
    const topology = amqpTopology(amqp);
    await channel.deleteQueue(topology.ingestQueue);
    await channel.deleteQueue(topology.liveQueue);
    await channel.deleteQueue(topology.deadLetterQueue);
    await channel.deleteExchange(topology.exchange);
    await channel.deleteExchange(topology.deadLetterExchange);
    await channel.deleteExchange(topology.realtimeExchange);
  } finally {
    await connection.close();
  }
}

/**
 * Closes the connection of an instance's realtime bus (AmqpRealtimeBus's own, private), as a
 * broker node going away would: its queue goes with it, and it reconnects by itself a second
 * later. Answers whether it is connected again.
 */
export async function dropRealtimeConnection(herald: RunningHerald): Promise<() => boolean> {
  const bus = herald.app.get<RealtimeBus, { connection: AmqpConnectionManager }>(RealtimeBus);
  await bus.connection.connection!.close();
  return () => bus.connection.isConnected();
}

/** Runs rabbitmqctl on this machine (the tests' broker is local), e.g. to cut every connection. */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) =>
    execFile('rabbitmqctl', args, { timeout: 30_000 }, (error, stdout, stderr) =>
      error
        ? reject(new Error(`rabbitmqctl ${args.join(' ')}: ${stderr || error.message}`))
        : resolve(stdout),
    ),
  );
}

/**
 * A queue's messages as the broker reports them: waiting, and delivered but not acknowledged
 * (read-only: `rabbitmqctl list_queues`). A queue the broker does not have counts as empty.
 */
export async function queueDepth(queue: string): Promise<{ ready: number; unacked: number }> {
  const listed = await rabbitmqctl(
    'list_queues',
    'name',
    'messages_ready',
    'messages_unacknowledged',
    '--formatter',
    'json',
  );
  const row = (
    JSON.parse(listed) as {
      name: string;
      messages_ready: number;
      messages_unacknowledged: number;
    }[]
  ).find((each) => each.name === queue);
  return { ready: row?.messages_ready ?? 0, unacked: row?.messages_unacknowledged ?? 0 };
}
