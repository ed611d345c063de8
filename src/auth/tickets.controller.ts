import { Controller, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import { ApiErrors } from '../openapi/api-errors';
import { BEARER } from '../openapi/openapi';
import type { AuthenticatedUser } from './authenticated-user';
import { CurrentUser } from './current-user.decorator';
import { Tickets } from './tickets';

class TicketResponse {
  @ApiProperty({
    type: String,
    description: 'Single use; put it in the stream URL as `?ticket=`',
    example: 'lRWGo6H4woYkWZuW1gPLsF5VERmEGdRcUQkk--tNPd0',
  })
  ticket: string;

  @ApiProperty({
    type: String,
    format: 'date-time',
    description: 'In 60 s at most, and never after the token it was issued for',
    example: '2026-05-01T09:31:00.000Z',
  })
  expiresAt: Date;
}

@ApiTags('stream')
@ApiBearerAuth(BEARER)
@Controller('stream/tickets')
export class TicketsController {
  constructor(private readonly tickets: Tickets) {}

  /** A single-use ticket for `GET /api/v1/notifications/stream?ticket=…`. */
  @Post()
  @ApiOperation({
    summary: 'Trade the bearer token for a stream ticket',
    description: 'For browsers, whose EventSource cannot send an Authorization header.',
  })
  @ApiCreatedResponse({ type: TicketResponse })
  @ApiErrors(401, 429)
  issue(@CurrentUser() user: AuthenticatedUser): Promise<TicketResponse> {
    return this.tickets.issue(user);
  }
}
