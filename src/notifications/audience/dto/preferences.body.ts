import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayUnique, IsArray, Matches } from 'class-validator';
import { MUTE_PATTERN } from '../muting';

export class PreferencesBody {
  @ApiProperty({
    type: String,
    isArray: true,
    maxItems: 200,
    uniqueItems: true,
    pattern: MUTE_PATTERN,
    description: 'Replaces the list: types (`promo.weekly`) or prefixes (`promo.*`) to mute',
    example: ['promo.*', 'digest.weekly'],
  })
  @Matches(MUTE_PATTERN, {
    each: true,
    message: 'mutedTypes must hold types or prefixes like "promo.*" (1-100 of [A-Za-z0-9_.:-])',
  })
  @ArrayUnique()
  @ArrayMaxSize(200)
  @IsArray()
  mutedTypes: string[];
}
