import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { InvalidInputError } from '../common/domain-error';
import { validateInput } from '../common/validation';
import { HeraldMetrics } from '../metrics/herald-metrics';
import { CreateNotificationCommand } from '../notifications/intake/create-notification.command';
import { NotificationBatcher } from '../notifications/intake/notification-batcher';
import { LiveEventCommand, liveEventOf } from '../realtime/live-event.command';
import { RealtimeRouter } from '../realtime/realtime-router';
import type { IngestContext } from './ingest-context';
import { fastCommand } from './command-fast-path';
import { LIVE_EVENT_BINDING, NOTIFICATION_BINDING } from './amqp-topology';

/**
 * Messages in, from RabbitMQ (and Redis when REDIS_URL is set): `notification.<type>` messages
 * are stored, `event.<name>` ones pushed live.
 */
@Controller()
export class IngestController {
  constructor(
    private readonly batcher: NotificationBatcher,
    private readonly router: RealtimeRouter,
    private readonly metrics: HeraldMetrics,
  ) {}

  /**
   * Resolves after the commit with `{ ids }` (one per recipient; `scheduled` instead when held
   * until `deliverAt`); the transport acknowledges then and sends it as the RPC reply. Invalid
   * input throws InvalidInputError: dead-lettered.
   */
  @EventPattern<string>(NOTIFICATION_BINDING)
  async store(
    @Payload() body: unknown,
    @Ctx() context: IngestContext,
  ): Promise<{ ids: string[]; scheduled?: { id: string; deliverAt: Date } }> {
    const input = {
      ...(context.getMessageId() !== undefined && { id: context.getMessageId() }),
      ...withDefaults(body, context, 'notification.'),
    };
    const command = fastCommand(input) ?? validateInput(CreateNotificationCommand, input);
    command.sentAt = context.getSentAt();
    const { ids, created, scheduled } = await this.batcher.store(command);
    this.metrics.ingested.inc({ outcome: 'stored' }, created);
    this.metrics.ingested.inc({ outcome: 'duplicate' }, ids.length - created);
    if (scheduled) this.metrics.ingested.inc({ outcome: 'scheduled' });
    return { ids, ...(scheduled && { scheduled }) };
  }

  /** Pushed to the recipients connected now, on every instance; acknowledged at once. */
  @EventPattern<string>(LIVE_EVENT_BINDING)
  push(@Payload() body: unknown, @Ctx() context: IngestContext): Record<string, never> {
    this.router.pushLive(
      liveEventOf(validateInput(LiveEventCommand, withDefaults(body, context, 'event.'))),
    );
    return {};
  }
}

/** The routing key after `prefix` stands in for a missing `type`. */
function withDefaults(
  body: unknown,
  context: IngestContext,
  prefix: string,
): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidInputError(['the message body must be a JSON object']);
  }
  const pattern = context.getPattern();
  const typeFromKey = pattern.startsWith(prefix) ? pattern.slice(prefix.length) : '';
  return { ...(typeFromKey && { type: typeFromKey }), ...body };
}
