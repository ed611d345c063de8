import { randomUUID } from 'node:crypto';
import { Body, Headers, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiHeader, ApiOperation } from '@nestjs/swagger';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { InvalidInputError } from '../common/domain-error';
import { AmqpPublisher } from '../messaging/amqp-publisher';
import { PRINTABLE } from '../notifications/addressed-message';
import { CreateNotificationCommand } from '../notifications/intake/create-notification.command';
import { LiveEventCommand } from '../realtime/live-event.command';
import { ApiErrors } from '../openapi/api-errors';
import { AdminController } from './admin-controller.decorator';
import { adminTenant } from './admin-scope';
import { AcceptedResponse, EmptyResponse } from './dto/admin.responses';

/**
 * Sending, for admins and internal tools over HTTP: the body is the RabbitMQ message of
 * CONTRACT.md, published to the exchange like any producer's (with a publisher confirm), so it
 * takes the same path: validated, stored, acknowledged, delivered. 202: accepted, not yet stored.
 */
@AdminController('admin')
@ApiErrors(400, 413, 503)
export class AdminMessagesController {
  constructor(private readonly publisher: AmqpPublisher) {}

  /** `Idempotency-Key` (or the body's `id`) makes a retried request store one notification. */
  @Post('notifications')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Send a notification',
    description:
      'Published to RabbitMQ with a publisher confirm, then stored and delivered like any ' +
      'producer’s message (202: accepted, not yet stored).',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Retries with the same key store one notification per recipient',
  })
  @ApiAcceptedResponse({ type: AcceptedResponse })
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
  @ApiOperation({
    summary: 'Push a live event',
    description: 'To whoever of its recipients is connected now; never stored (202, `{}`).',
  })
  @ApiAcceptedResponse({ type: EmptyResponse })
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
