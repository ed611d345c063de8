import { ApiProperty, ApiPropertyOptional, PickType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { NAME, NAME_RULE, PRINTABLE } from '../../notifications/addressed-message';

/** `?tenantId=`: which tenant a platform admin acts for (see adminTenant). */
export class TenantQuery {
  @ApiPropertyOptional({
    description:
      'For a platform admin (no `tenant` claim): the tenant to act for; none = users without a ' +
      'tenant. A tenant admin may only name their own.',
    maxLength: 200,
    example: 'acme',
  })
  @IsOptional()
  @Matches(PRINTABLE, { message: 'tenantId must not contain control characters' })
  @MaxLength(200)
  @IsString()
  tenantId?: string;
}

export class PageQuery extends TenantQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @Min(1)
  @Max(1000)
  @IsInt()
  limit: number = 100;

  @ApiPropertyOptional({ description: 'The `nextCursor` of the previous page', maxLength: 200 })
  @IsOptional()
  @MaxLength(200)
  @IsString()
  cursor?: string;
}

export class SubscriberParams {
  @ApiProperty({ pattern: NAME.source, example: 'orders' })
  @Matches(NAME, { message: `topic must be ${NAME_RULE}` })
  @IsString()
  topic: string;

  @ApiProperty({ maxLength: 200, example: 'u1' })
  @Matches(PRINTABLE, { message: 'userId must not contain control characters' })
  @MaxLength(200)
  @IsString()
  userId: string;
}

export class NotificationSearchQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'Only this user’s', maxLength: 200, example: 'u1' })
  @IsOptional()
  @Matches(PRINTABLE, { message: 'userId must not contain control characters' })
  @MaxLength(200)
  @IsString()
  userId?: string;

  @ApiPropertyOptional({ description: 'Only this type', pattern: NAME.source })
  @IsOptional()
  @Matches(NAME, { message: `type must be ${NAME_RULE}` })
  @IsString()
  type?: string;
}

/** `?limit=` alone: dead letters are not per tenant and have no cursor. */
export class DeadLetterQuery extends PickType(PageQuery, ['limit'] as const) {}
