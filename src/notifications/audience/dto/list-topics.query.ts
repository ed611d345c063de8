import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { NAME, NAME_RULE } from '../../addressed-message';

export class ListTopicsQuery {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 1000,
    description: 'Default: TOPICS_MAX_PER_USER (100 unless configured), so one page holds them all',
    example: 50,
  })
  @IsOptional()
  @Type(() => Number)
  @Min(1)
  @Max(1000)
  @IsInt()
  limit?: number;

  @ApiPropertyOptional({
    type: String,
    pattern: NAME.source,
    description: 'The `nextCursor` of the previous page: the topics after this one',
    example: 'orders',
  })
  @IsOptional()
  @Matches(NAME, { message: `cursor must be a topic name (${NAME_RULE})` })
  @IsString()
  cursor?: string;
}
