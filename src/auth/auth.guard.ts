import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { parseCookie } from 'cookie';
import type { Request, Response } from 'express';
import { STREAM_CREDENTIALS } from './stream-credentials.decorator';
import type { AuthenticatedRequest } from './current-user.decorator';
import { InvalidTokenError } from './invalid-token.error';
import { JwtVerifier } from './jwt-verifier';
import { IS_PUBLIC } from './public.decorator';
import { STREAM_COOKIE, StreamSessions } from './stream-sessions';
import { Tickets } from './tickets';

/**
 * Global guard (registered first, before RolesGuard): every HTTP route needs a valid bearer token
 * unless marked @Public(); a route marked @AcceptsStreamCredentials() (the SSE stream) takes a
 * single-use `?ticket=` or the `herald_stream` session cookie instead. Message handlers are not
 * HTTP and pass through; the broker is trusted.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly verifier: JwtVerifier,
    private readonly tickets: Tickets,
    private readonly sessions: StreamSessions,
    private readonly reflector: Reflector,
  ) {}

  private acceptsStreamCredentials(context: ExecutionContext): boolean {
    return !!this.reflector.get<boolean>(STREAM_CREDENTIALS, context.getHandler());
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;

    const http = context.switchToHttp();
    const request = http.getRequest<Request & AuthenticatedRequest>();
    const token = bearerToken(request);
    const stream = this.acceptsStreamCredentials(context);
    const ticket = stream ? request.query.ticket : undefined;
    const session = stream ? sessionCookie(request) : undefined;
    try {
      if (token) request.user = await this.verifier.verify(token);
      else if (typeof ticket === 'string') request.user = await this.tickets.redeem(ticket);
      else if (session) request.user = await this.sessions.resolve(session);
      else throw new InvalidTokenError('missing');
      return true;
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      // RFC 6750: say which scheme and why, so clients know to get a new token.
      http
        .getResponse<Response>()
        .setHeader(
          'WWW-Authenticate',
          token || ticket || session ? 'Bearer error="invalid_token"' : 'Bearer realm="herald"',
        );
      throw new UnauthorizedException(
        token || ticket || session ? error.message : 'Missing bearer token',
      );
    }
  }
}

export function bearerToken(request: Request): string | undefined {
  const match = /^Bearer +(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}

function sessionCookie(request: Request): string | undefined {
  const header = request.headers.cookie;
  return header ? parseCookie(header)[STREAM_COOKIE] : undefined;
}
