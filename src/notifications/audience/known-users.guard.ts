import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import type { AuthenticatedRequest } from '../../auth/current-user.decorator';
import { turnBatch } from '../../common/turn-batch';
import { AudienceRepository } from './audience.repository';
import { Recipient, recipientKey } from '../notification';

/** Users this instance recorded already; past this many it forgets and records again. */
const REMEMBERED_MAX = 100_000;

/**
 * Records every authenticated caller as a known user, once per instance: known users are the
 * audience of a broadcast. A guard that always lets the request through, because guards run
 * before the handler and interceptors do not: an SSE route must fail (400) before its headers go
 * out. Registered after AuthGuard (AuthModule is imported first), so the user is on the request.
 * A failure to record does not fail the request.
 */
@Injectable()
export class KnownUsersGuard implements CanActivate {
  private readonly logger = new Logger(KnownUsersGuard.name);
  private readonly remembered = new Set<string>();
  /** Batched per turn: users connecting together are recorded in one statement. */
  private readonly remember = turnBatch<Recipient, void>(async (recipients) => {
    await this.audience.remember([...recipients]);
    return recipients.map(() => undefined);
  });

  constructor(private readonly audience: AudienceRepository) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const user = context.switchToHttp().getRequest<AuthenticatedRequest>().user;
    const key = user && recipientKey(user);
    if (!key || this.remembered.has(key)) return true;
    // Remembered at once, so the user's other tabs opening meanwhile do not record them again.
    if (this.remembered.size >= REMEMBERED_MAX) this.remembered.clear();
    this.remembered.add(key);
    try {
      await this.remember({ userId: user.userId, tenantId: user.tenantId });
    } catch (error) {
      this.remembered.delete(key);
      this.logger.warn(`Could not record user as known: ${String(error)}`);
    }
    return true;
  }
}
