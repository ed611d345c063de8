import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsDefined,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  Validate,
  ValidateIf,
  ValidateNested,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';

/** Ids and names end up in SSE lines and log lines: no control characters (no forged CR/LF). */
export const PRINTABLE = /^[^\p{Cc}]+$/u;
/** Types and topics: also used in routing keys and URLs. */
export const NAME = /^[A-Za-z0-9_.:-]{1,100}$/;
export const NAME_RULE = '1-100 of [A-Za-z0-9_.:-]';
/** Where a click goes: an absolute http(s) URL or a path on the page's own site. */
// A path must not start with `//` or `/\`: browsers read both as another site (`//evil.example`).
export const LINK = /^(https?:\/\/[^\s\p{Cc}]+|\/(?![/\\])[^\s\p{Cc}]*)$/u;
export const LINK_RULE = 'an https:// or http:// URL, or a path starting with /';
/** Categories: for filters and muting. */
export const CATEGORY = /^[a-z0-9._-]{1,64}$/;
export const CATEGORY_RULE = '1-64 of [a-z0-9._-]';

const NO_RECIPIENT = 'recipients needs userIds, topics or broadcast: true';

function hasAudience(recipients: RecipientsSpec): boolean {
  return (recipients.topics?.length ?? 0) > 0 || recipients.broadcast === true;
}

@ValidatorConstraint({ name: 'hasRecipients' })
class HasRecipients implements ValidatorConstraintInterface {
  validate(_: unknown, args: ValidationArguments): boolean {
    const recipients = args.object as RecipientsSpec;
    return (recipients.userIds?.length ?? 0) > 0 || hasAudience(recipients);
  }

  defaultMessage(): string {
    return NO_RECIPIENT;
  }
}

/** Who gets it: named users, the subscribers of topics, or everyone (of the tenant). */
export class RecipientsSpec {
  @ApiPropertyOptional({
    type: String,
    isArray: true,
    maxItems: 1000,
    uniqueItems: true,
    maxLength: 200,
    pattern: PRINTABLE,
    description: 'Required, and not empty, unless `topics` or `broadcast: true` is given',
    example: ['u1', 'u2'],
  })
  @Matches(PRINTABLE, { each: true, message: 'userIds must not contain control characters' })
  @MaxLength(200, { each: true })
  @IsString({ each: true })
  @ArrayUnique()
  @ArrayMaxSize(1000)
  @Validate(HasRecipients)
  @IsArray()
  @IsDefined({ message: NO_RECIPIENT })
  @ValidateIf(
    (recipients: RecipientsSpec) => recipients.userIds !== undefined || !hasAudience(recipients),
  )
  userIds?: string[];

  @ApiPropertyOptional({
    type: String,
    isArray: true,
    maxItems: 100,
    uniqueItems: true,
    pattern: NAME,
    description: 'Their subscribers, at the time it is sent',
    example: ['orders'],
  })
  @Matches(NAME, { each: true, message: `topics must hold topic names (${NAME_RULE})` })
  @IsString({ each: true })
  @ArrayUnique()
  @ArrayMaxSize(100)
  @IsArray()
  @IsOptional()
  topics?: string[];

  @ApiPropertyOptional({
    type: Boolean,
    description: 'Every user Herald knows of the tenant',
    example: false,
  })
  @IsBoolean()
  @IsOptional()
  broadcast?: boolean;
}

/** Whether the recipients include a topic or everyone: expanded in pages, not in one go. */
export function fansOut(recipients: RecipientsSpec): boolean {
  return hasAudience(recipients);
}

/**
 * What every message to users has: who gets it, its type, its data and its tenant. A stored
 * notification (CreateNotificationCommand) and a live event (LiveEventCommand) build on it.
 */
export abstract class AddressedMessage {
  @ApiProperty({ type: RecipientsSpec })
  @ValidateNested()
  @Type(() => RecipientsSpec)
  // An array would pass ValidateNested item by item (an empty one with nothing to check).
  @IsObject({ message: NO_RECIPIENT })
  @IsDefined()
  recipients: RecipientsSpec;

  @ApiProperty({ type: String, pattern: NAME, example: 'order.shipped' })
  @Matches(NAME, { message: `type must be ${NAME_RULE}` })
  @IsString()
  type: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { orderId: 123 } })
  @IsOptional()
  @IsObject()
  data?: Record<string, unknown>;

  @ApiPropertyOptional({
    type: String,
    maxLength: 200,
    pattern: '^[^\\p{Cc}]*$',
    description:
      'Empty or absent: users without a tenant. Over HTTP, an admin whose token names a tenant ' +
      'may name only that one.',
    example: 'acme',
  })
  @IsOptional()
  @Matches(/^[^\p{Cc}]*$/u, { message: 'tenantId must not contain control characters' })
  @MaxLength(200)
  @IsString()
  tenantId?: string;
}
