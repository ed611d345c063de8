import { ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  Validate,
} from 'class-validator';
import { IsLanguageTag } from '../../../common/locale';
import { IsTimeZone, TIME_ZONE_MAX_LENGTH } from '../../../common/time-zone';
import { CATEGORY, CATEGORY_RULE } from '../../addressed-message';
import { MUTE_PATTERN } from '../muting';

/** Replaces the preferences: a field left out goes back to its default. */
export class PreferencesBody {
  @ApiPropertyOptional({
    type: String,
    isArray: true,
    maxItems: 200,
    uniqueItems: true,
    pattern: MUTE_PATTERN.source,
    default: [],
    description: 'Types (`promo.weekly`) or prefixes (`promo.*`) to mute',
    example: ['promo.*', 'digest.weekly'],
  })
  @IsOptional()
  @Matches(MUTE_PATTERN, {
    each: true,
    message: 'mutedTypes must hold types or prefixes like "promo.*" (1-100 of [A-Za-z0-9_.:-])',
  })
  @ArrayUnique()
  @ArrayMaxSize(200)
  @IsArray()
  mutedTypes?: string[];

  @ApiPropertyOptional({
    type: String,
    isArray: true,
    maxItems: 200,
    uniqueItems: true,
    pattern: CATEGORY.source,
    default: [],
    description: 'Categories to mute',
    example: ['social'],
  })
  @IsOptional()
  @Matches(CATEGORY, {
    each: true,
    message: `mutedCategories must hold categories (${CATEGORY_RULE})`,
  })
  @ArrayUnique()
  @ArrayMaxSize(200)
  @IsArray()
  mutedCategories?: string[];

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    maxLength: 35,
    default: null,
    description: 'The language notifications are rendered in (BCP 47); null: the template default',
    example: 'de',
  })
  @IsOptional()
  @Validate(IsLanguageTag)
  @MaxLength(35)
  @IsString()
  locale?: string | null;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    maxLength: TIME_ZONE_MAX_LENGTH,
    default: null,
    description:
      'The time zone dates in templates are written in (IANA, or an offset like `+05:30`); null: the server’s',
    example: 'Europe/Berlin',
  })
  @IsOptional()
  @Validate(IsTimeZone)
  @MaxLength(TIME_ZONE_MAX_LENGTH)
  @IsString()
  timeZone?: string | null;
}
