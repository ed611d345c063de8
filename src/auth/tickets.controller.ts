import { Controller, Post } from '@nestjs/common';
import type { AuthenticatedUser } from './authenticated-user';
import { CurrentUser } from './current-user.decorator';
import { TicketsService } from './tickets.service';

@Controller('stream/tickets')
export class TicketsController {
  constructor(private readonly tickets: TicketsService) {}

  /** A single-use ticket for `GET /api/v1/notifications/stream?ticket=…`. */
  @Post()
  issue(@CurrentUser() user: AuthenticatedUser): Promise<{ ticket: string; expiresAt: Date }> {
    return this.tickets.issue(user);
  }
}
