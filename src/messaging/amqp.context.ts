import { BaseRpcContext } from '@nestjs/microservices';
import type { ConsumeMessage } from 'amqplib';

/** What an @EventPattern handler can learn about the message it handles (via @Ctx()). */
export class AmqpContext extends BaseRpcContext<[ConsumeMessage, string]> {
  getMessage(): ConsumeMessage {
    return this.args[0];
  }

  /** The routing key, or the `pattern` of a NestJS `{ pattern, data }` envelope. */
  getPattern(): string {
    return this.args[1];
  }

  /** The AMQP `message_id` property: the idempotency key when the body has no `id`. */
  getMessageId(): string | undefined {
    const id: unknown = this.args[0].properties.messageId;
    return typeof id === 'string' && id.length > 0 ? id : undefined;
  }
}
