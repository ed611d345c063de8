import { SetMetadata } from '@nestjs/common';

export const ACCEPTS_TICKET = 'herald:accepts-ticket';

/** The route also accepts `?ticket=` (from POST /stream/tickets) instead of a bearer token. */
export const AcceptsTicket = () => SetMetadata(ACCEPTS_TICKET, true);
