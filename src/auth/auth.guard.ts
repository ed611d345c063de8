import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { ACCEPTS_TICKET } from './accepts-ticket.decorator';
import type { AuthenticatedRequest } from './current-user.decorator';
import { InvalidTokenError } from './invalid-token.error';
import { JwtVerifier } from './jwt-verifier';
import { IS_PUBLIC } from './public.decorator';
import { Tickets } from './tickets';

/**
 * Global guard (registered first, before RolesGuard): every HTTP route needs a valid bearer token
 * unless marked @Public(); a route marked @AcceptsTicket() (the SSE stream) takes a single-use
 * `?ticket=` instead. Message handlers are not HTTP and pass through; the broker is trusted.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly verifier: JwtVerifier,
    private readonly tickets: Tickets,
    private readonly reflector: Reflector,
  ) {}

  private acceptsTicket(context: ExecutionContext): boolean {
    return !!this.reflector.get<boolean>(ACCEPTS_TICKET, context.getHandler());
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
    const ticket = this.acceptsTicket(context) ? request.query.ticket : undefined;
    try {
      if (token) request.user = await this.verifier.verify(token);
      else if (typeof ticket === 'string') request.user = await this.tickets.redeem(ticket);
      else throw new InvalidTokenError('missing');
      return true;
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      // RFC 6750: say which scheme and why, so clients know to get a new token.
      http
        .getResponse<Response>()
        .setHeader(
          'WWW-Authenticate',
          token || ticket ? 'Bearer error="invalid_token"' : 'Bearer realm="herald"',
        );
      throw new UnauthorizedException(token || ticket ? error.message : 'Missing bearer token');
    }
  }
}

function bearerToken(request: Request): string | undefined {
  const match = /^Bearer +(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}
