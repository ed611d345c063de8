import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { from, Observable, switchMap } from 'rxjs';
import type { AuthenticatedRequest } from '../auth/current-user.decorator';
import { AudienceRepository } from './audience.repository';
import { recipientKey } from './notification';

/** Users this instance recorded already; past this many it forgets and records again. */
const REMEMBERED_MAX = 100_000;

/**
 * Records every authenticated caller as a known user, once per instance: known users are the
 * audience of a broadcast. A failure to record does not fail the request.
 */
@Injectable()
export class KnownUsersInterceptor implements NestInterceptor {
  private readonly logger = new Logger(KnownUsersInterceptor.name);
  private readonly remembered = new Set<string>();

  constructor(private readonly audience: AudienceRepository) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const user = context.switchToHttp().getRequest<AuthenticatedRequest>().user;
    if (!user || this.remembered.has(recipientKey(user))) return next.handle();
    return from(this.remember(user)).pipe(switchMap(() => next.handle()));
  }

  private async remember(user: NonNullable<AuthenticatedRequest['user']>): Promise<void> {
    try {
      await this.audience.remember([{ userId: user.userId, tenantId: user.tenantId }]);
      if (this.remembered.size >= REMEMBERED_MAX) this.remembered.clear();
      this.remembered.add(recipientKey(user));
    } catch (error) {
      this.logger.warn(`Could not record user as known: ${String(error)}`);
    }
  }
}
