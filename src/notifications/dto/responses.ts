import { ApiProperty } from '@nestjs/swagger';
import { type InboxPage, type Notification, PRIORITIES, type Priority } from '../notification';
import type { Preferences } from '../audience/preferences.repository';
import type { TopicsPage } from '../audience/topics';

/**
 * A Notification as the OpenAPI document shows it. Each class here implements the domain type it
 * documents and is its controller method's return type, so the compiler keeps the two in step.
 * Dates go out as ISO 8601 strings (Date's toJSON).
 */
export class NotificationResponse implements Notification {
  @ApiProperty({
    type: String,
    description: 'Opaque; ordered per user as stored. Also the stream position (SSE `id:`).',
    example: '1042',
  })
  id: string;

  @ApiProperty({ type: String, example: 'u1' })
  userId: string;

  @ApiProperty({ type: String, nullable: true, example: 'acme' })
  tenantId: string | null;

  @ApiProperty({ type: String, example: 'order.shipped' })
  type: string;

  @ApiProperty({ type: String, example: 'Your order has shipped' })
  title: string;

  @ApiProperty({ type: String, nullable: true, example: 'Tracking number 1Z999' })
  body: string | null;

  @ApiProperty({ type: 'object', additionalProperties: true, example: { orderId: 123 } })
  data: Record<string, unknown>;

  @ApiProperty({ enum: PRIORITIES, example: 'normal' })
  priority: Priority;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The topic it was sent to, when it came through one',
    example: null,
  })
  topic: string | null;

  @ApiProperty({ type: String, format: 'date-time', example: '2026-05-01T09:30:00.000Z' })
  createdAt: Date;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  readAt: Date | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  archivedAt: Date | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'Gone from the inbox after this',
    example: '2026-12-01T00:00:00.000Z',
  })
  expiresAt: Date | null;
}

export class InboxPageResponse implements InboxPage {
  @ApiProperty({ type: NotificationResponse, isArray: true, description: 'Newest first' })
  items: NotificationResponse[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The `cursor` of the next page; null on the last page',
    example: '1021',
  })
  nextCursor: string | null;
}

export class UnreadCountResponse {
  @ApiProperty({ type: 'integer', minimum: 0, example: 3 })
  count: number;
}

export class ReadAllResponse {
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'How many were unread and are now read',
    example: 3,
  })
  updated: number;
}

export class PreferencesResponse implements Preferences {
  @ApiProperty({
    type: String,
    isArray: true,
    description: 'Types (`promo.weekly`) and prefixes (`promo.*`) not stored for the caller',
    example: ['promo.*', 'digest.weekly'],
  })
  mutedTypes: string[];
}

export class TopicsResponse implements TopicsPage {
  @ApiProperty({
    type: String,
    isArray: true,
    description: 'Sorted by name',
    example: ['orders', 'releases'],
  })
  topics: string[];

  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'The `cursor` of the next page (the last topic of this one); null on the last page',
    example: null,
  })
  nextCursor: string | null;
}
