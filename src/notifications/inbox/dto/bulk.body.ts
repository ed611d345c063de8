import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsDateString,
  IsDefined,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  ValidateNested,
} from 'class-validator';
import { CATEGORY, CATEGORY_RULE, NAME, NAME_RULE } from '../../addressed-message';
import { INBOX_STATUSES, type InboxStatus } from '../../notification';
import { ID, MAX_IDS } from './seen.body';

export class BulkFilterSpec {
  @ApiPropertyOptional({ enum: INBOX_STATUSES, default: 'all', example: 'unread' })
  @IsOptional()
  @IsIn(INBOX_STATUSES)
  status?: InboxStatus;

  @ApiPropertyOptional({ type: String, pattern: NAME.source, example: 'order.shipped' })
  @IsOptional()
  @Matches(NAME, { message: `filter.type must be ${NAME_RULE}` })
  @IsString()
  type?: string;

  @ApiPropertyOptional({ type: String, pattern: CATEGORY.source, example: 'orders' })
  @IsOptional()
  @Matches(CATEGORY, { message: `filter.category must be ${CATEGORY_RULE}` })
  @IsString()
  category?: string;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'Created before this time',
    example: '2026-11-01T00:00:00Z',
  })
  @IsOptional()
  @IsDateString({ strict: true }, { message: 'filter.before must be an ISO 8601 time' })
  before?: string;

  @ApiPropertyOptional({ type: String, isArray: true, maxItems: MAX_IDS, example: ['1041'] })
  @IsOptional()
  @Matches(ID, { each: true, message: 'filter.ids must hold notification ids' })
  @ArrayMaxSize(MAX_IDS)
  @IsArray()
  ids?: string[];
}

export class BulkSetSpec {
  @ApiPropertyOptional({ type: Boolean, example: true })
  @IsOptional()
  @IsBoolean()
  read?: boolean;

  @ApiPropertyOptional({ type: Boolean, example: true })
  @IsOptional()
  @IsBoolean()
  seen?: boolean;

  @ApiPropertyOptional({ type: Boolean, example: false })
  @IsOptional()
  @IsBoolean()
  archived?: boolean;
}

/** One change to every notification of the caller that matches the filter. */
export class BulkBody {
  @ApiProperty({
    type: BulkFilterSpec,
    description: 'All of the conditions given; `{}`: everything not archived',
  })
  @ValidateNested()
  @Type(() => BulkFilterSpec)
  @IsObject()
  @IsDefined()
  filter: BulkFilterSpec;

  @ApiProperty({ type: BulkSetSpec, description: 'At least one flag' })
  @ValidateNested()
  @Type(() => BulkSetSpec)
  @IsObject()
  @IsDefined()
  set: BulkSetSpec;
}
