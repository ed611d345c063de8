import { IsDateString, IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { AddressedMessage, PRINTABLE } from './addressed-message';
import { PRIORITIES, Priority } from './notification';

/**
 * What a producer asks for, validated (CONTRACT.md "RabbitMQ: what producers publish"). Built
 * with validateInput() from a message body or an HTTP body alike.
 */
export class CreateNotificationCommand extends AddressedMessage {
  @IsOptional()
  @Matches(PRINTABLE, { message: 'id must not contain control characters' })
  @MaxLength(200)
  @IsString()
  id?: string;

  @Matches(/\S/, { message: 'title must not be blank' })
  @MaxLength(500)
  @IsString()
  title: string;

  @IsOptional()
  @MaxLength(10_000)
  @IsString()
  body?: string;

  @IsOptional()
  @IsIn(PRIORITIES)
  priority?: Priority;

  @IsOptional()
  @IsDateString({ strict: true })
  expiresAt?: string;

  /** Held until then (stored as scheduled), when in the future. */
  @IsOptional()
  @IsDateString({ strict: true })
  deliverAt?: string;
}
