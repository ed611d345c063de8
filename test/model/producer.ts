import type { ConsumeMessage } from 'amqplib';
import { TestBroker } from '../support/amqp';

/** Herald's answer to a message that asked for one (CONTRACT.md: `reply_to` + `correlation_id`). */
export interface Reply {
  ok: boolean;
  ids?: string[];
  scheduled?: { id: string; deliverAt: string };
  error?: string;
}

export interface Outgoing {
  routingKey: string;
  body: unknown;
  messageId?: string;
}

/**
 * One producer on one confirm channel, straight to RabbitMQ (never through a proxy the test cuts):
 * a burst keeps its order per user, and every message asks for a reply (direct reply-to on the
 * same channel), which Herald sends after the commit. Replies can be lost when Herald is killed
 * between its acknowledgement and its reply; the caller then looks at storage.
 */
export class Producer {
  private readonly waiting = new Map<string, (reply: Reply) => void>();
  private counter = 0;
  /** Why the broker closed the channel, when it did. */
  private closedBy?: string;
  /**
   * Set when someone closed every connection on the broker (`rabbitmqctl close_all_connections`,
   * as other test suites sharing it do): a fault outside the scenario, whose run proves nothing.
   */
  interference?: string;

  private constructor(
    private readonly broker: TestBroker,
    private readonly exchange: string,
  ) {}

  static async open(exchange: string): Promise<Producer> {
    const broker = await TestBroker.connect();
    const producer = new Producer(broker, exchange);
    broker.channel.on('error', (error: Error) => (producer.closedBy = error.message));
    broker.connection.on('error', (error: Error) => {
      if (/CONNECTION[-_]FORCED/i.test(error.message)) producer.interference = error.message;
    });
    broker.channel.on('close', () => (producer.closedBy ??= 'closed'));
    await broker.channel.consume(
      'amq.rabbitmq.reply-to',
      (message: ConsumeMessage | null) => {
        const id = message?.properties.correlationId as string | undefined;
        const answer = id === undefined ? undefined : producer.waiting.get(id);
        if (!answer) return; // a second reply to a redelivered message: the first counts
        producer.waiting.delete(id!);
        answer(JSON.parse(message!.content.toString()) as Reply);
      },
      { noAck: true },
    );
    return producer;
  }

  /** Publishes in order and waits for the broker's confirms; the replies come later. */
  async publish(messages: Outgoing[]): Promise<Promise<Reply>[]> {
    if (this.closedBy) throw new Error(`the producer's channel was closed: ${this.closedBy}`);
    const replies: Promise<Reply>[] = [];
    for (const message of messages) {
      this.counter += 1;
      const correlationId = `reply-${this.counter}`;
      replies.push(new Promise((resolve) => this.waiting.set(correlationId, resolve)));
      const ok = this.broker.channel.publish(
        this.exchange,
        message.routingKey,
        Buffer.from(JSON.stringify(message.body)),
        {
          contentType: 'application/json',
          persistent: true,
          replyTo: 'amq.rabbitmq.reply-to',
          correlationId,
          ...(message.messageId !== undefined && { messageId: message.messageId }),
        },
      );
      if (!ok) await new Promise((resolve) => this.broker.channel.once('drain', resolve));
    }
    await this.broker.channel.waitForConfirms();
    return replies;
  }

  async close(): Promise<void> {
    this.waiting.clear();
    await this.broker.close();
  }
}

/** Resolves with the replies that came within `timeoutMs` (undefined for the others). */
export async function repliesWithin(
  replies: Promise<Reply>[],
  timeoutMs: number,
): Promise<(Reply | undefined)[]> {
  const got: (Reply | undefined)[] = replies.map(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  await Promise.race([
    Promise.all(replies.map((reply, index) => reply.then((value) => (got[index] = value)))),
    deadline,
  ]);
  clearTimeout(timer);
  return got;
}
