import { SetMetadata } from '@nestjs/common';

export const STREAM_CREDENTIALS = 'herald:stream-credentials';

/**
 * The route (the stream) also accepts what browsers can send without headers: `?ticket=` (from
 * POST /stream/tickets) or the `herald_stream` cookie (from POST /stream/session).
 */
export const AcceptsStreamCredentials = () => SetMetadata(STREAM_CREDENTIALS, true);
