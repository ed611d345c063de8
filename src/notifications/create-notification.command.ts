import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsDateString,
  IsDefined,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { PRIORITIES, Priority } from './notification';

/** Ids and names end up in SSE lines and log lines: no control characters (no forged CR/LF). */
const PRINTABLE = /^[^\p{Cc}]+$/u;
const NAME = /^[A-Za-z0-9_.:-]+$/;

export class RecipientsSpec {
  @Matches(PRINTABLE, { each: true, message: 'userIds must not contain control characters' })
  @MaxLength(200, { each: true })
  @IsString({ each: true })
  @ArrayUnique()
  @ArrayMaxSize(1000)
  @ArrayMinSize(1)
  @IsArray()
  @IsDefined()
  userIds: string[];
}

/**
 * What a producer asks for, validated (CONTRACT.md "RabbitMQ: what producers publish"). Built
 * with validateInput() from a message body or an HTTP body alike.
 */
export class CreateNotificationCommand {
  @IsOptional()
  @Matches(PRINTABLE, { message: 'id must not contain control characters' })
  @MaxLength(200)
  @IsString()
  id?: string;

  @ValidateNested()
  @Type(() => RecipientsSpec)
  @IsDefined()
  recipients: RecipientsSpec;

  @Matches(NAME, { message: 'type must be 1-100 of [A-Za-z0-9_.:-]' })
  @MaxLength(100)
  @IsString()
  type: string;

  @Matches(/\S/, { message: 'title must not be blank' })
  @MaxLength(500)
  @IsString()
  title: string;

  @IsOptional()
  @MaxLength(10_000)
  @IsString()
  body?: string;

  @IsOptional()
  @IsObject()
  data?: Record<string, unknown>;

  @IsOptional()
  @IsIn(PRIORITIES)
  priority?: Priority;

  @IsOptional()
  @Matches(/^[^\p{Cc}]*$/u, { message: 'tenantId must not contain control characters' })
  @MaxLength(200)
  @IsString()
  tenantId?: string;

  @IsOptional()
  @IsDateString({ strict: true })
  expiresAt?: string;
}
