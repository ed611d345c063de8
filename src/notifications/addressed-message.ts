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

  @Matches(NAME, { each: true, message: `topics must hold topic names (${NAME_RULE})` })
  @IsString({ each: true })
  @ArrayUnique()
  @ArrayMaxSize(100)
  @IsArray()
  @IsOptional()
  topics?: string[];

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
  @ValidateNested()
  @Type(() => RecipientsSpec)
  @IsDefined()
  recipients: RecipientsSpec;

  @Matches(NAME, { message: `type must be ${NAME_RULE}` })
  @IsString()
  type: string;

  @IsOptional()
  @IsObject()
  data?: Record<string, unknown>;

  @IsOptional()
  @Matches(/^[^\p{Cc}]*$/u, { message: 'tenantId must not contain control characters' })
  @MaxLength(200)
  @IsString()
  tenantId?: string;
}
