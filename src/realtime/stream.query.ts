import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';

/** A stream position: "0" or a notification id. */
export const POSITION = /^(0|[1-9]\d{0,18})$/;

export class StreamQuery {
  /** For clients that cannot send the Last-Event-ID header. */
  @ApiPropertyOptional({
    type: String,
    pattern: POSITION,
    description: 'The position to replay from, for clients that cannot send Last-Event-ID',
    example: '1042',
  })
  @IsOptional()
  @Matches(POSITION, { message: 'lastEventId must be a stream position (digits)' })
  lastEventId?: string;

  /** A single-use ticket from POST /stream/tickets; checked by AuthGuard. */
  @ApiPropertyOptional({
    type: String,
    maxLength: 100,
    description: 'Instead of the bearer token: a single-use ticket from POST /stream/tickets',
    example: 'lRWGo6H4woYkWZuW1gPLsF5VERmEGdRcUQkk--tNPd0',
  })
  @IsOptional()
  @MaxLength(100)
  @IsString()
  ticket?: string;
}
