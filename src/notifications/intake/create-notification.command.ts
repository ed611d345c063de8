import { ApiHideProperty, ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Exclude } from 'class-transformer';
import {
  Allow,
  IsDateString,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
} from 'class-validator';
import { AddressedMessage, PRINTABLE } from '../addressed-message';
import { PRIORITIES, type Priority } from '../notification';

/**
 * What a producer asks for, validated (CONTRACT.md "RabbitMQ: what producers publish"). Built
 * with validateInput() from a message body or an HTTP body alike.
 */
export class CreateNotificationCommand extends AddressedMessage {
  @ApiPropertyOptional({
    type: String,
    maxLength: 200,
    pattern: PRINTABLE,
    description: 'Idempotency key: the same id twice stores one notification per recipient',
    example: 'order-123-shipped',
  })
  @IsOptional()
  @Matches(PRINTABLE, { message: 'id must not contain control characters' })
  @MaxLength(200)
  @IsString()
  id?: string;

  @ApiProperty({ type: String, maxLength: 500, pattern: /\S/, example: 'Your order has shipped' })
  @Matches(/\S/, { message: 'title must not be blank' })
  @MaxLength(500)
  @IsString()
  title: string;

  @ApiPropertyOptional({ type: String, maxLength: 10_000, example: 'Tracking number 1Z999' })
  @IsOptional()
  @MaxLength(10_000)
  @IsString()
  body?: string;

  @ApiPropertyOptional({
    enum: PRIORITIES,
    default: 'normal',
    description: '`critical` is stored even for users who muted the type',
    example: 'normal',
  })
  @IsOptional()
  @IsIn(PRIORITIES)
  priority?: Priority;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'Not stored when already past on arrival; purged after',
    example: '2026-12-01T00:00:00Z',
  })
  @IsOptional()
  @IsDateString({ strict: true })
  expiresAt?: string;

  /** Held until then (stored as scheduled), when in the future. */
  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'Held until then, when in the future',
    example: '2026-11-30T08:00:00Z',
  })
  @IsOptional()
  @IsDateString({ strict: true })
  deliverAt?: string;

  /**
   * Set by the transport, never read from a body: when the producer published it (ms since the
   * epoch), for the delivery latency metric. Excluded from what a schedule stores.
   */
  @ApiHideProperty()
  @Exclude()
  @Allow()
  sentAt?: number;
}
