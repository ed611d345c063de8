import { ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsOptional, Matches } from 'class-validator';

/** Notification ids in request bodies: the digits the API gives out. */
export const ID = /^[1-9]\d{0,18}$/;
/** Ids one request may name. */
export const MAX_IDS = 1000;

export class SeenBody {
  @ApiPropertyOptional({
    type: String,
    isArray: true,
    maxItems: MAX_IDS,
    description: 'The notifications the user saw; left out: all of them',
    example: ['1041', '1042'],
  })
  @IsOptional()
  @Matches(ID, { each: true, message: 'ids must hold notification ids' })
  @ArrayMaxSize(MAX_IDS)
  @IsArray()
  ids?: string[];
}
