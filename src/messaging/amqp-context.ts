import { BaseRpcContext } from '@nestjs/microservices';
import type { ConsumeMessage } from 'amqplib';
import type { IngestContext } from './ingest-context';

/** What an @EventPattern handler can learn about the message it handles (via @Ctx()). */
export class AmqpContext extends BaseRpcContext<[ConsumeMessage, string]> implements IngestContext {
  getMessage(): ConsumeMessage {
    return this.args[0];
  }

  /** The routing key, or the `pattern` of a NestJS `{ pattern, data }` envelope. */
  getPattern(): string {
    return this.args[1];
  }

  /**
   * When the producer published the message, in ms since the epoch: the `x-herald-sent-at` header
   * (ms, or an ISO date), else the AMQP `timestamp` property (seconds, as AMQP defines it).
   */
  getSentAt(): number | undefined {
    const { headers, timestamp } = this.args[0].properties as {
      headers?: Record<string, unknown>;
      timestamp?: unknown;
    };
    const header = headers?.['x-herald-sent-at'];
    const fromHeader =
      typeof header === 'number' ? header : typeof header === 'string' ? Date.parse(header) : NaN;
    if (Number.isFinite(fromHeader)) return fromHeader;
    return typeof timestamp === 'number' && timestamp > 0 ? timestamp * 1000 : undefined;
  }

  /** The AMQP `message_id` property: the idempotency key when the body has no `id`. */
  getMessageId(): string | undefined {
    const id: unknown = this.args[0].properties.messageId;
    return typeof id === 'string' && id.length > 0 ? id : undefined;
  }
}
