import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { AuthenticatedUser } from './authenticated-user';

export interface AuthenticatedRequest {
  user?: AuthenticatedUser;
}

/** The verified caller that AuthGuard put on the request. */
export const CurrentUser = createParamDecorator(
  (_: unknown, context: ExecutionContext): AuthenticatedUser => {
    const user = context.switchToHttp().getRequest<AuthenticatedRequest>().user;
    if (!user) throw new Error('@CurrentUser() on a route that AuthGuard did not check');
    return user;
  },
);
