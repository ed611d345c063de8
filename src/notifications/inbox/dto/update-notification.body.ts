import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsDateString, IsOptional, ValidateIf } from 'class-validator';

/** At least one field; the others are left as they are. */
export class UpdateNotificationBody {
  @ApiPropertyOptional({ type: Boolean, example: true })
  @IsOptional()
  @IsBoolean()
  read?: boolean;

  @ApiPropertyOptional({ type: Boolean, example: false })
  @IsOptional()
  @IsBoolean()
  archived?: boolean;

  @ApiPropertyOptional({
    type: Boolean,
    description: 'Seen in a list, apart from read',
    example: true,
  })
  @IsOptional()
  @IsBoolean()
  seen?: boolean;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    nullable: true,
    description:
      'Hide it from lists, counts and replay until then (in the future, at most 30 days ahead); ' +
      'null wakes it now',
    example: '2026-12-02T08:00:00Z',
  })
  @ValidateIf(
    (body: UpdateNotificationBody) => body.snoozedUntil !== undefined && body.snoozedUntil !== null,
  )
  @IsDateString({ strict: true }, { message: 'snoozedUntil must be an ISO 8601 time or null' })
  snoozedUntil?: string | null;
}
