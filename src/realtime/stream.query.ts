import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';

/** A stream position: "0" or a notification id. */
export const POSITION = /^(0|[1-9]\d{0,18})$/;

export class StreamQuery {
  /** For clients that cannot send the Last-Event-ID header. */
  @IsOptional()
  @Matches(POSITION, { message: 'lastEventId must be a stream position (digits)' })
  lastEventId?: string;

  /** A single-use ticket from POST /stream/tickets; checked by AuthGuard. */
  @IsOptional()
  @MaxLength(100)
  @IsString()
  ticket?: string;
}
