import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { InvalidInputError } from '../common/domain-error';
import { validateInput } from '../common/validation';
import { CreateNotificationCommand } from '../notifications/create-notification.command';
import { NotificationBatcher } from '../notifications/notification-batcher';
import { AmqpContext } from './amqp.context';
import { NOTIFICATION_BINDING } from './amqp-topology';

/** RabbitMQ in: `notification.<type>` messages become stored notifications. */
@Controller()
export class IngestController {
  constructor(private readonly batcher: NotificationBatcher) {}

  /**
   * Resolves after the commit with `{ ids }` (one per recipient); the transport acknowledges then
   * and sends it as the RPC reply. Invalid input throws InvalidInputError: dead-lettered.
   */
  @EventPattern(NOTIFICATION_BINDING)
  async store(@Payload() body: unknown, @Ctx() context: AmqpContext): Promise<{ ids: string[] }> {
    const command = validateInput(CreateNotificationCommand, withDefaults(body, context));
    const { ids } = await this.batcher.store(command);
    return { ids };
  }
}

/** The AMQP message_id stands in for a missing `id`; the routing key for a missing `type`. */
function withDefaults(body: unknown, context: AmqpContext): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidInputError(['the message body must be a JSON object']);
  }
  const typeFromKey = context.getPattern().replace(/^notification\./, '');
  return {
    ...(context.getMessageId() !== undefined && { id: context.getMessageId() }),
    ...(typeFromKey && typeFromKey !== context.getPattern() && { type: typeFromKey }),
    ...body,
  };
}
