import {
  BadRequestException,
  Controller,
  Headers,
  MessageEvent,
  Query,
  Req,
  Sse,
} from '@nestjs/common';
import type { Request } from 'express';
import { Observable } from 'rxjs';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { AcceptsTicket } from '../auth/accepts-ticket.decorator';
import { CurrentUser } from '../auth/current-user.decorator';
import { POSITION, StreamQuery } from './stream.query';
import { StreamsService } from './streams.service';

@Controller('notifications')
export class StreamController {
  constructor(private readonly streams: StreamsService) {}

  /**
   * The user's live stream (CONTRACT.md "The SSE stream"): bearer token or `?ticket=`; the
   * position to replay from in the Last-Event-ID header or `?lastEventId=`.
   */
  @Sse('stream')
  @AcceptsTicket()
  stream(
    @CurrentUser() user: AuthenticatedUser,
    @Query() query: StreamQuery,
    @Headers('last-event-id') header: string | undefined,
    @Req() request: Request,
  ): Observable<MessageEvent> {
    const lastEventId = header?.trim() || query.lastEventId;
    if (lastEventId !== undefined && !POSITION.test(lastEventId)) {
      throw new BadRequestException('Last-Event-ID must be a stream position (digits)');
    }
    return this.streams.stream(user, lastEventId, request.socket);
  }
}
