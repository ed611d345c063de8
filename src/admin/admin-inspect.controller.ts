import { Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { DeadLetters } from '../messaging/dead-letters';
import type { InboxPage } from '../notifications/notification';
import { InboxPageResponse } from '../notifications/dto/responses';
import { Inbox } from '../notifications/inbox/inbox';
import { ApiErrors } from '../openapi/api-errors';
import { StreamRegistry } from '../realtime/stream-registry';
import { AdminController } from './admin-controller.decorator';
import { adminTenant } from './admin-scope';
import { NotificationSearchQuery, TenantQuery } from './dto/admin.dto';
import { AdminStatsResponse } from './dto/admin.responses';

export interface AdminStats {
  /** Streams open on this instance (of the tenant in scope). */
  connections: number;
  /** Users with at least one stream open on this instance. */
  usersOnline: number;
  /** Stored notifications (not deleted) in scope, across instances. */
  notifications: number;
  /** Messages waiting in the dead-letter queue (all tenants). */
  deadLetters: number;
}

/** What is stored and who is connected, for admins. */
@AdminController('admin')
@ApiErrors(400)
export class AdminInspectController {
  constructor(
    private readonly notifications: Inbox,
    private readonly registry: StreamRegistry,
    private readonly deadLetters: DeadLetters,
  ) {}

  /** Any user's notifications in the tenant, newest first; `nextCursor` continues. */
  @Get('notifications')
  @ApiOperation({ summary: 'Search notifications of any user in the tenant' })
  @ApiOkResponse({ type: InboxPageResponse })
  search(
    @CurrentUser() admin: AuthenticatedUser,
    @Query() query: NotificationSearchQuery,
  ): Promise<InboxPage> {
    const { userId, type, cursor, limit } = query;
    const tenantId = adminTenant(admin, query.tenantId);
    return this.notifications.search({ tenantId, userId, type, cursor, limit });
  }

  /**
   * A platform admin sees every tenant unless `tenantId` narrows it; a tenant admin sees their
   * tenant. Connections are this instance's (a load balancer spreads them: sum over instances).
   */
  @Get('stats')
  @ApiOperation({ summary: 'Connections, users online, notifications, dead letters' })
  @ApiOkResponse({ type: AdminStatsResponse })
  @ApiErrors(503)
  async stats(
    @CurrentUser() admin: AuthenticatedUser,
    @Query() query: TenantQuery,
  ): Promise<AdminStats> {
    const scope =
      admin.tenantId === null && !query.tenantId ? undefined : adminTenant(admin, query.tenantId);
    const { connections, users } = this.registry.count(scope);
    const [notifications, deadLetters] = await Promise.all([
      this.notifications.count(scope),
      // Stats stay up while RabbitMQ is away, with the depth last seen.
      this.deadLetters.depth().catch(() => this.deadLetters.lastKnownDepth),
    ]);
    return { connections, usersOnline: users, notifications, deadLetters };
  }
}
