import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { CATEGORY, CATEGORY_RULE, NAME } from '../../addressed-message';
import { INBOX_STATUSES, type InboxStatus } from '../../notification';

export class ListNotificationsQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 20, example: 20 })
  @IsOptional()
  @Type(() => Number)
  @Min(1)
  @Max(100)
  @IsInt()
  limit: number = 20;

  @ApiPropertyOptional({
    type: String,
    maxLength: 40,
    description: 'The `nextCursor` of the previous page',
    example: '1021',
  })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  cursor?: string;

  @ApiPropertyOptional({
    enum: INBOX_STATUSES,
    default: 'all',
    description:
      '`all` is everything not archived; `archived` only the archived; `unseen` not seen yet; ' +
      '`snoozed` only the snoozed, which every other status leaves out',
    example: 'unread',
  })
  @IsOptional()
  @IsIn(INBOX_STATUSES)
  status: InboxStatus = 'all';

  @ApiPropertyOptional({ type: String, pattern: NAME, example: 'order.shipped' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_.:-]{1,100}$/, { message: 'type must be 1-100 of [A-Za-z0-9_.:-]' })
  type?: string;

  @ApiPropertyOptional({ type: String, pattern: CATEGORY.source, example: 'orders' })
  @IsOptional()
  @Matches(CATEGORY, { message: `category must be ${CATEGORY_RULE}` })
  @IsString()
  category?: string;
}
