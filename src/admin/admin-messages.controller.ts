import { randomUUID } from 'node:crypto';
import { Body, Controller, Headers, HttpCode, HttpStatus, Post } from '@nestjs/common';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { InvalidInputError } from '../common/domain-error';
import { AmqpPublisher } from '../messaging/amqp-publisher';
import { PRINTABLE } from '../notifications/addressed-message';
import { CreateNotificationCommand } from '../notifications/create-notification.command';
import { Roles } from '../auth/roles.decorator';
import { LiveEventCommand } from '../realtime/live-event.command';
import { adminTenant } from './admin-scope';

/**
 * Sending, for admins and internal tools over HTTP: the body is the RabbitMQ message of
 * CONTRACT.md, published to the exchange like any producer's (with a publisher confirm), so it
 * takes the same path: validated, stored, acknowledged, delivered. 202: accepted, not yet stored.
 */
@Controller('admin')
@Roles('admin')
export class AdminMessagesController {
  constructor(private readonly publisher: AmqpPublisher) {}

  /** `Idempotency-Key` (or the body's `id`) makes a retried request store one notification. */
  @Post('notifications')
  @HttpCode(HttpStatus.ACCEPTED)
  async send(
    @CurrentUser() admin: AuthenticatedUser,
    @Body() body: CreateNotificationCommand,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
  ): Promise<{ id: string }> {
    const id = idOf(body.id, idempotencyKey);
    const message = { ...body, id, tenantId: adminTenant(admin, body.tenantId) ?? undefined };
    await this.publisher.publish(`notification.${body.type}`, message, { messageId: id });
    return { id };
  }

  /** A live event: pushed to whoever of its recipients is connected, never stored. */
  @Post('events')
  @HttpCode(HttpStatus.ACCEPTED)
  async push(
    @CurrentUser() admin: AuthenticatedUser,
    @Body() body: LiveEventCommand,
  ): Promise<Record<string, never>> {
    const message = { ...body, tenantId: adminTenant(admin, body.tenantId) ?? undefined };
    await this.publisher.publish(`event.${body.type}`, message);
    return {};
  }
}

function idOf(bodyId: string | undefined, header: string | undefined): string {
  if (header === undefined) return bodyId ?? randomUUID();
  if (!PRINTABLE.test(header) || header.length > 200) {
    throw new InvalidInputError(['Idempotency-Key must be 1-200 printable characters']);
  }
  if (bodyId !== undefined && bodyId !== header) {
    throw new InvalidInputError(['Idempotency-Key and id differ; send one of them']);
  }
  return header;
}
