import { ApiHideProperty, ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Exclude, Type } from 'class-transformer';
import {
  Allow,
  ArrayMaxSize,
  IsArray,
  IsDateString,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  Validate,
  ValidateIf,
  ValidateNested,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { IsLanguageTag } from '../../common/locale';
import {
  AddressedMessage,
  CATEGORY,
  CATEGORY_RULE,
  LINK,
  LINK_RULE,
  NAME,
  NAME_RULE,
  PRINTABLE,
} from '../addressed-message';
import { PRIORITIES, type Priority } from '../notification';

export const ACTION_ID = /^[a-z0-9_-]{1,32}$/;
/** `group.windowSeconds` when the message leaves it out. */
export const DEFAULT_GROUP_WINDOW_SECONDS = 3600;

/** A button shown with the notification; its label may come from the template. */
export class ActionSpec {
  @ApiProperty({ type: String, pattern: ACTION_ID.source, example: 'approve' })
  @Matches(ACTION_ID, { message: 'actions.id must be 1-32 of [a-z0-9_-]' })
  @IsString()
  id: string;

  @ApiPropertyOptional({
    type: String,
    maxLength: 64,
    description: "Required unless the message's template labels the action",
    example: 'Approve',
  })
  @IsOptional()
  @Matches(/^[^\p{Cc}]*\S[^\p{Cc}]*$/u, {
    message: 'actions.label must not be blank or contain control characters',
  })
  @MaxLength(64)
  @IsString()
  label?: string;

  @ApiPropertyOptional({ type: String, maxLength: 2048, example: '/requests/42/approve' })
  @IsOptional()
  @Matches(LINK, { message: `actions.url must be ${LINK_RULE}` })
  @MaxLength(2048)
  @IsString()
  url?: string;
}

/** CONTRACT.md v1.1 `group`: joins the recipient's open group of `key`. */
export class GroupBody {
  @ApiProperty({
    type: String,
    maxLength: 128,
    pattern: PRINTABLE.source,
    example: 'post-42-likes',
  })
  @Matches(PRINTABLE, { message: 'group.key must not be empty or contain control characters' })
  @MaxLength(128, { message: 'group.key must be at most 128 characters' })
  @IsString({ message: 'group.key must be a string' })
  key: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 86_400,
    default: DEFAULT_GROUP_WINDOW_SECONDS,
    description: 'How long after its first message the group takes more',
    example: 3600,
  })
  @IsOptional()
  @Max(86_400, { message: 'group.windowSeconds must not be greater than 86400' })
  @Min(1, { message: 'group.windowSeconds must not be less than 1' })
  @IsInt({ message: 'group.windowSeconds must be an integer number' })
  windowSeconds?: number;

  @ApiPropertyOptional({
    type: String,
    maxLength: 128,
    description: 'Who it is from',
    example: 'Ada',
  })
  @IsOptional()
  @Matches(PRINTABLE, { message: 'group.actor must not be empty or contain control characters' })
  @MaxLength(128, { message: 'group.actor must be at most 128 characters' })
  @IsString({ message: 'group.actor must be a string' })
  actor?: string;
}

@ValidatorConstraint({ name: 'collapseOrGroup' })
class CollapseOrGroup implements ValidatorConstraintInterface {
  validate(_: unknown, args: ValidationArguments): boolean {
    const command = args.object as CreateNotificationCommand;
    return command.collapseKey === undefined || command.group === undefined;
  }

  defaultMessage(): string {
    return 'collapseKey and group cannot both be set: a notification replaces or groups';
  }
}

@ValidatorConstraint({ name: 'labelledActions' })
class LabelledActions implements ValidatorConstraintInterface {
  validate(actions: unknown, args: ValidationArguments): boolean {
    if (!Array.isArray(actions) || (args.object as CreateNotificationCommand).template != null) {
      return true;
    }
    // What is not an object is for @IsObject to name.
    return actions.every(
      (action: unknown) =>
        typeof action !== 'object' ||
        action === null ||
        (action as { label?: unknown }).label !== undefined,
    );
  }

  defaultMessage(): string {
    return 'actions.label is required unless a template labels the action';
  }
}

@ValidatorConstraint({ name: 'uniqueActionIds' })
class UniqueActionIds implements ValidatorConstraintInterface {
  validate(actions: unknown): boolean {
    if (!Array.isArray(actions)) return true;
    const ids = actions.map((action: { id?: unknown } | null) => action?.id);
    return new Set(ids).size === ids.length;
  }

  defaultMessage(): string {
    return 'actions must have distinct ids';
  }
}

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

  @ApiPropertyOptional({
    type: String,
    maxLength: 500,
    pattern: /\S/,
    description: 'Required unless `template` is given (which then renders it)',
    example: 'Your order has shipped',
  })
  @ValidateIf(
    (command: CreateNotificationCommand) => command.template == null || command.title !== undefined,
  )
  @Matches(/\S/, { message: 'title must not be blank' })
  @MaxLength(500)
  @IsString()
  title?: string;

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

  @ApiPropertyOptional({
    type: String,
    maxLength: 2048,
    description: `Where a click on it goes: ${LINK_RULE}`,
    example: 'https://shop.example.com/orders/123',
  })
  @IsOptional()
  @Matches(LINK, { message: `url must be ${LINK_RULE}` })
  @MaxLength(2048)
  @IsString()
  url?: string;

  @ApiPropertyOptional({
    type: ActionSpec,
    isArray: true,
    maxItems: 3,
    description: 'Buttons shown with it; ids distinct',
    example: [{ id: 'track', label: 'Track parcel', url: '/orders/123/tracking' }],
  })
  @IsOptional()
  @ValidateNested({ each: true })
  @Type(() => ActionSpec)
  @IsObject({ each: true, message: 'actions must hold objects { id, label, url? }' })
  @Validate(LabelledActions)
  @Validate(UniqueActionIds)
  @ArrayMaxSize(3)
  @IsArray()
  actions?: ActionSpec[];

  @ApiPropertyOptional({
    type: String,
    pattern: CATEGORY.source,
    description: 'For filters and preferences (`mutedCategories`)',
    example: 'orders',
  })
  @IsOptional()
  @Matches(CATEGORY, { message: `category must be ${CATEGORY_RULE}` })
  @IsString()
  category?: string;

  @ApiPropertyOptional({
    type: String,
    maxLength: 128,
    pattern: PRINTABLE.source,
    description:
      "Replaces the recipient's previous notification with this key (a new id; the old one is " +
      'deleted). Not with `group`.',
    example: 'build-1234',
  })
  @IsOptional()
  @Validate(CollapseOrGroup)
  @Matches(PRINTABLE, { message: 'collapseKey must not be empty or contain control characters' })
  @MaxLength(128)
  @IsString()
  collapseKey?: string;

  @ApiPropertyOptional({
    type: GroupBody,
    description:
      "Joins the recipient's newest unread notification of `group.key` while the group's first " +
      'message is younger than `windowSeconds` (a new id, `groupCount` + 1, `actors`); else ' +
      'starts a group. Not with `collapseKey`.',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => GroupBody)
  @IsObject({ message: 'group must be an object { key, windowSeconds?, actor? }' })
  group?: GroupBody;

  @ApiPropertyOptional({
    type: String,
    pattern: NAME.source,
    description:
      "A template's name: title, body and action labels are rendered from it in each " +
      "recipient's locale, with `data` as its arguments",
    example: 'comment.created',
  })
  @IsOptional()
  @Matches(NAME, { message: `template must be ${NAME_RULE}` })
  @IsString()
  template?: string;

  @ApiPropertyOptional({
    type: String,
    maxLength: 35,
    description: "BCP 47: renders the template in this locale rather than the recipient's",
    example: 'de',
  })
  @IsOptional()
  @Validate(IsLanguageTag)
  @MaxLength(35)
  @IsString()
  locale?: string;

  /**
   * Set by the transport, never read from a body: when the producer published it (ms since the
   * epoch), for the delivery latency metric. Excluded from what a schedule stores.
   */
  @ApiHideProperty()
  @Exclude()
  @Allow()
  sentAt?: number;
}
