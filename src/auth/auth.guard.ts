import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import type { AuthenticatedRequest } from './current-user.decorator';
import { InvalidTokenError } from './invalid-token.error';
import { JwtVerifier } from './jwt-verifier.service';
import { IS_PUBLIC } from './public.decorator';

/**
 * Global guard (registered first, before RolesGuard): every HTTP route needs a valid bearer token
 * unless marked @Public(). Message handlers are not HTTP and pass through; the broker is trusted.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly verifier: JwtVerifier,
    private readonly reflector: Reflector,
  ) {}

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
    try {
      if (!token) throw new InvalidTokenError('missing');
      request.user = await this.verifier.verify(token);
      return true;
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      // RFC 6750: say which scheme and why, so clients know to get a new token.
      http
        .getResponse<Response>()
        .setHeader(
          'WWW-Authenticate',
          token ? 'Bearer error="invalid_token"' : 'Bearer realm="herald"',
        );
      throw new UnauthorizedException(token ? error.message : 'Missing bearer token');
    }
  }
}

function bearerToken(request: Request): string | undefined {
  const match = /^Bearer +(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}
