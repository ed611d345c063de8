import { ApiProperty } from '@nestjs/swagger';
import {
  type InboxPage,
  type Notification,
  type NotificationAction,
  PRIORITIES,
  type Priority,
} from '../notification';
import type { Preferences } from '../audience/preferences.repository';
import type { TopicsPage } from '../audience/topics';

export class ActionResponse implements NotificationAction {
  @ApiProperty({ type: String, example: 'track' })
  id: string;

  @ApiProperty({ type: String, example: 'Track parcel' })
  label: string;

  @ApiProperty({ type: String, required: false, example: '/orders/123/tracking' })
  url?: string;
}

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

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Where a click on it goes',
    example: 'https://shop.example.com/orders/123',
  })
  url: string | null;

  @ApiProperty({
    type: ActionResponse,
    isArray: true,
    description: 'Buttons shown with it (`[]` when none)',
    example: [{ id: 'track', label: 'Track parcel', url: '/orders/123/tracking' }],
  })
  actions: ActionResponse[];

  @ApiProperty({ type: String, nullable: true, example: 'orders' })
  category: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When the user saw it in a list (apart from reading it)',
    example: null,
  })
  seenAt: Date | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  interactedAt: Date | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The id of the action the user took',
    example: null,
  })
  interaction: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'Hidden from lists, counts and replay until then',
    example: null,
  })
  snoozedUntil: Date | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The newest with this key replaced the older ones',
    example: null,
  })
  collapseKey: string | null;

  @ApiProperty({ type: String, nullable: true, example: null })
  groupKey: string | null;

  @ApiProperty({
    type: 'integer',
    minimum: 1,
    description: 'How many messages it stands for (1 when not grouped)',
    example: 1,
  })
  groupCount: number;

  @ApiProperty({
    type: String,
    isArray: true,
    description: 'Of a group: the newest first, distinct, at most 5',
    example: [],
  })
  actors: string[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The locale it was rendered in (templates)',
    example: null,
  })
  locale: string | null;
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

  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'Neither seen nor read, not archived, not snoozed: the bell badge',
    example: 2,
  })
  unseen: number;
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

export class UpdatedResponse {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'How many changed', example: 3 })
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

  @ApiProperty({ type: String, isArray: true, example: ['social'] })
  mutedCategories: string[];

  @ApiProperty({ type: String, nullable: true, example: 'de' })
  locale: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'Europe/Berlin' })
  timeZone: string | null;
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
