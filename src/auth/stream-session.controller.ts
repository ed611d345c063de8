import { Controller, Delete, HttpCode, HttpStatus, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { CookieOptions, Request, Response } from 'express';
import { ApiErrors } from '../openapi/api-errors';
import { BEARER } from '../openapi/openapi';
import { bearerToken } from './auth.guard';
import type { AuthenticatedUser } from './authenticated-user';
import { CurrentUser } from './current-user.decorator';
import { STREAM_COOKIE, STREAM_COOKIE_PATH, StreamSessions } from './stream-sessions';

/**
 * The stream session cookie (CONTRACT.md v1.1 "Browsers without tokens in URLs"). HttpOnly (no
 * script reads it), SameSite=Strict (no other site's page sends it) and scoped to the stream's
 * path, which is all it opens: the stream only reads, so a forged request could do nothing.
 */
@ApiTags('stream')
@ApiBearerAuth(BEARER)
@Controller('stream/session')
@ApiErrors(401, 429)
export class StreamSessionController {
  constructor(private readonly sessions: StreamSessions) {}

  @Post()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    summary: 'Trade the bearer token for a stream session cookie',
    description:
      'Sets `herald_stream` (HttpOnly, SameSite=Strict, Path=/api/v1/notifications/stream; ' +
      'Secure behind https), valid until the token expires, at most 1 h: a native ' +
      "`EventSource('/api/v1/notifications/stream', { withCredentials: true })` then opens " +
      'and reconnects by itself. Call again to renew.',
  })
  @ApiNoContentResponse({ description: 'The cookie is set' })
  async open(
    @CurrentUser() user: AuthenticatedUser,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<void> {
    const { session, expiresAt } = await this.sessions.open(user, bearerToken(request)!);
    response.cookie(STREAM_COOKIE, session, {
      ...cookieOptions(request),
      expires: expiresAt,
    });
  }

  @Delete()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    summary: 'End the stream sessions this token opened, and clear the cookie',
    description: 'Streams open already run on until they close or their session expires.',
  })
  @ApiNoContentResponse({ description: 'Ended; the cookie is cleared' })
  async end(
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<void> {
    await this.sessions.end(bearerToken(request)!);
    response.clearCookie(STREAM_COOKIE, cookieOptions(request));
  }
}

/** `Secure` when the request came over https (behind TRUST_PROXY: per X-Forwarded-Proto). */
function cookieOptions(request: Request): CookieOptions {
  return { httpOnly: true, sameSite: 'strict', path: STREAM_COOKIE_PATH, secure: request.secure };
}
