import { ApiProperty } from '@nestjs/swagger';
import type { DeadLetter, ReplayResult } from '../../messaging/dead-letters';
import type { ScheduledNotification } from '../../notifications/scheduling/scheduled.repository';
import type { AdminStats } from '../admin-inspect.controller';

export class AcceptedResponse {
  @ApiProperty({
    description: 'The idempotency key it was published under: Idempotency-Key, `id`, or a new one',
    example: 'order-123-shipped',
  })
  id: string;
}

/** A live event has no id: it is pushed and forgotten; the answer is `{}`. */
export class EmptyResponse {}

export class SubscribersPageResponse {
  @ApiProperty({ type: [String], example: ['u1', 'u2'] })
  items: string[];

  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next page' })
  nextCursor: string | null;
}

export class AdminStatsResponse implements AdminStats {
  @ApiProperty({ description: 'Streams open on this instance', example: 1532 })
  connections: number;

  @ApiProperty({ description: 'Users with a stream open on this instance', example: 1210 })
  usersOnline: number;

  @ApiProperty({ description: 'Stored notifications in scope (not deleted)', example: 982113 })
  notifications: number;

  @ApiProperty({ description: 'Messages waiting in the dead-letter queue', example: 0 })
  deadLetters: number;
}

class DeadLetterResponse implements DeadLetter {
  @ApiProperty({ type: String, nullable: true, example: 'order-123-shipped' })
  messageId: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'notifications' })
  exchange: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'notification.order.shipped' })
  routingKey: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'x-herald-error-code (see docs/MESSAGING.md)',
    example: 'invalid',
  })
  code: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'invalid: recipients needs userIds, topics or broadcast: true',
  })
  reason: string | null;

  @ApiProperty({ type: String, nullable: true, example: '2026-11-23T10:00:00.000Z' })
  failedAt: string | null;

  @ApiProperty({ description: 'Replays before this one failed', example: 0 })
  replays: number;

  @ApiProperty({ type: String, nullable: true, example: 'application/json' })
  contentType: string | null;

  @ApiProperty({ example: 58 })
  bytes: number;

  @ApiProperty({ description: 'The body as text, at most 10,000 characters', example: '{}' })
  body: string;

  @ApiProperty({ example: false })
  truncated: boolean;
}

export class DeadLettersPageResponse {
  @ApiProperty({ type: [DeadLetterResponse] })
  items: DeadLetterResponse[];

  @ApiProperty({ description: 'Dead letters in the queue', example: 1 })
  total: number;
}

export class ReplayResponse implements ReplayResult {
  @ApiProperty({ example: 12 })
  replayed: number;

  @ApiProperty({ example: 0 })
  kept: number;
}

export class PurgeResponse {
  @ApiProperty({ example: 12 })
  purged: number;
}

class ScheduledResponse implements Omit<ScheduledNotification, 'recipientsKey'> {
  @ApiProperty({ type: String, nullable: true, example: null })
  tenantId: string | null;

  @ApiProperty({ description: 'Cancel it by this id', example: 'maintenance-2026-12-01' })
  id: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'The notification as it will be sent',
  })
  command: Record<string, unknown>;

  @ApiProperty({ type: String, format: 'date-time' })
  deliverAt: Date;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt: Date;
}

export class ScheduledListResponse {
  @ApiProperty({ type: [ScheduledResponse] })
  items: ScheduledResponse[];
}
