import { CanActivate, ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AuthenticatedRequest } from './current-user.decorator';
import { ROLES } from './roles.decorator';

/** Global guard after AuthGuard: enforces @Roles(...) on the verified user. */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const required = this.reflector.getAllAndOverride<string[] | undefined>(ROLES, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!required?.length) return true;
    const user = context.switchToHttp().getRequest<AuthenticatedRequest>().user;
    const missing = required.filter((role) => !user?.roles.includes(role));
    if (missing.length > 0) throw new ForbiddenException(`Requires role ${missing.join(', ')}`);
    return true;
  }
}
