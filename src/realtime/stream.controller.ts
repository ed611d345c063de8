import { BadRequestException, Controller, Headers, MessageEvent, Query, Sse } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { AcceptsTicket } from '../auth/accepts-ticket.decorator';
import { CurrentUser } from '../auth/current-user.decorator';
import { POSITION, StreamQuery } from './stream.query';
import { StreamsService } from './streams.service';

/** Characters of events held for one stream; Nest's default of 4M is a lot per client at scale. */
const MAX_PENDING_CHARACTERS = 256 * 1024;

@Controller('notifications')
export class StreamController {
  constructor(private readonly streams: StreamsService) {}

  /**
   * The user's live stream (CONTRACT.md "The SSE stream"): bearer token or `?ticket=`; the
   * position to replay from in the Last-Event-ID header or `?lastEventId=`.
   */
  // A client that stops reading is dropped once this much waits for it; it reconnects and replays.
  @Sse('stream', { maxPendingDataLength: MAX_PENDING_CHARACTERS })
  @AcceptsTicket()
  stream(
    @CurrentUser() user: AuthenticatedUser,
    @Query() query: StreamQuery,
    @Headers('last-event-id') header: string | undefined,
  ): Observable<MessageEvent> {
    const lastEventId = header?.trim() || query.lastEventId;
    if (lastEventId !== undefined && !POSITION.test(lastEventId)) {
      throw new BadRequestException('Last-Event-ID must be a stream position (digits)');
    }
    return this.streams.stream(user, lastEventId);
  }
}
