import {
  BadRequestException,
  Controller,
  Headers,
  HttpException,
  HttpStatus,
  MessageEvent,
  Query,
  Req,
  Sse,
} from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Observable } from 'rxjs';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { AcceptsStreamCredentials } from '../auth/stream-credentials.decorator';
import { CurrentUser } from '../auth/current-user.decorator';
import { HeraldConfig } from '../config/herald-config';
import { ApiErrors } from '../openapi/api-errors';
import { BEARER } from '../openapi/openapi';
import { StreamRegistry } from './stream-registry';
import { POSITION, StreamQuery } from './stream.query';
import { Streams } from './streams';

/** Characters of events held for one stream; Nest's default of 4M is a lot per client at scale. */
const MAX_PENDING_CHARACTERS = 256 * 1024;

/** The events of SseEventMap, for the OpenAPI document, which cannot describe an event stream. */
const EVENTS = [
  "Server-Sent Events. Every event's `id:` is the stream position: the newest of the user's " +
    'notifications this stream has passed. Reconnect with it as Last-Event-ID to replay, in ' +
    'order, what came after it.',
  '',
  '- `notification`: a new Notification (the schema of that name)',
  '- `notification.updated`: `{ id, readAt, archivedAt, seenAt, interactedAt, interaction, ' +
    'snoozedUntil, deleted?, replacedBy? }`, a change from any tab or device; `deleted` with ' +
    '`replacedBy` when a newer notification replaced it (`collapseKey`) or took it into its group',
  '- `notification.bulk-updated`: `{ upTo, filter, set, at }`, one change to many (read-all, seen, ' +
    'bulk): every notification at or below `upTo` that matches `filter` now has `set` applied',
  '- `unread-count`: `{ count, unseen }`, first on connect (with `retry: 3000`), then after every ' +
    'change',
  '- `resync`: `{ reason }`, reload the list over REST: `replay-limit` (more was missed than ' +
    'replay covers) or `ahead-of-storage` (Last-Event-ID is past anything stored for the user, as ' +
    'after a restored backup; the stream goes on from the true position)',
  '- `live`: `{ type, data, topic? }`, a live event, never stored or replayed',
  '- `auth-expired`: `{}`, the token expired; the server then ends the stream',
  '',
  'A `: ping` comment comes every SSE_HEARTBEAT_MS.',
].join('\n');

const EXAMPLE = [
  'event: unread-count',
  'id: 1041',
  'retry: 3000',
  'data: {"count":1,"unseen":1}',
  '',
  'event: notification',
  'id: 1042',
  'data: {"id":"1042","userId":"u1","tenantId":null,"type":"order.shipped",' +
    '"title":"Your order has shipped","body":null,"data":{"orderId":123},"priority":"normal",' +
    '"topic":null,"createdAt":"2026-05-01T09:30:00.000Z","readAt":null,"archivedAt":null,' +
    '"expiresAt":null,"url":"/orders/123","actions":[],"category":"orders","seenAt":null,' +
    '"interactedAt":null,"interaction":null,"snoozedUntil":null,"collapseKey":null,' +
    '"groupKey":null,"groupCount":1,"actors":[],"locale":null}',
  '',
  'event: unread-count',
  'id: 1042',
  'data: {"count":2,"unseen":2}',
  '',
  ': ping',
  '',
].join('\n');

@ApiTags('stream')
@ApiBearerAuth(BEARER)
@Controller('notifications')
export class StreamController {
  constructor(
    private readonly streams: Streams,
    private readonly registry: StreamRegistry,
    private readonly config: HeraldConfig,
  ) {}

  /**
   * The user's live stream (CONTRACT.md "The SSE stream"): bearer token, `?ticket=` or the
   * `herald_stream` session cookie; the
   * position to replay from in the Last-Event-ID header or `?lastEventId=`.
   */
  // A client that stops reading is dropped once this much waits for it; it reconnects and replays.
  @Sse('stream', { maxPendingDataLength: MAX_PENDING_CHARACTERS })
  @AcceptsStreamCredentials()
  @ApiOperation({
    summary: 'Open the live stream (Server-Sent Events)',
    description:
      'Bearer token; for browsers, `?ticket=` from POST /stream/tickets or the `herald_stream` ' +
      'cookie from POST /stream/session.',
  })
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description: 'The position to replay from (digits); wins over `?lastEventId=`',
    example: '1042',
  })
  @ApiOkResponse({
    description: EVENTS,
    content: { 'text/event-stream': { schema: { type: 'string' }, example: EXAMPLE } },
  })
  @ApiErrors(400, 401, 429)
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
    // Per instance: a user behind a load balancer may hold this many on each.
    const cap = this.config.sse.maxStreamsPerUser;
    const release = this.registry.reserve(user, cap);
    if (!release) {
      throw new HttpException(
        `At most ${cap} open streams per user; close one first`,
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    request.once('close', release);
    return this.streams.stream(user, lastEventId, request.socket, release);
  }
}
