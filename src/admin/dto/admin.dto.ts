import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { NAME, NAME_RULE, PRINTABLE } from '../../notifications/addressed-message';

/** `?tenantId=`: which tenant a platform admin acts for (see adminTenant). */
export class TenantQuery {
  @IsOptional()
  @Matches(PRINTABLE, { message: 'tenantId must not contain control characters' })
  @MaxLength(200)
  @IsString()
  tenantId?: string;
}

export class PageQuery extends TenantQuery {
  @IsOptional()
  @Type(() => Number)
  @Min(1)
  @Max(1000)
  @IsInt()
  limit: number = 100;

  @IsOptional()
  @MaxLength(200)
  @IsString()
  cursor?: string;
}

export class SubscriberParams {
  @Matches(NAME, { message: `topic must be ${NAME_RULE}` })
  @IsString()
  topic: string;

  @Matches(PRINTABLE, { message: 'userId must not contain control characters' })
  @MaxLength(200)
  @IsString()
  userId: string;
}
