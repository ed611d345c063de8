import { Controller, Delete, Get, HttpCode, HttpStatus, Param, Put, Query } from '@nestjs/common';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { Roles } from '../auth/roles.decorator';
import { TopicParams } from '../notifications/dto/topic.params';
import { TopicsService } from '../notifications/topics.service';
import { adminTenant } from './admin-scope';
import { PageQuery, SubscriberParams, TenantQuery } from './dto/admin.dto';

/** Anyone's topic subscriptions, for admins; idempotent like the user's own routes. */
@Controller('admin/topics')
@Roles('admin')
export class AdminTopicsController {
  constructor(private readonly topics: TopicsService) {}

  /** A page of subscribers by user id; `nextCursor` continues after the last. */
  @Get(':topic/subscribers')
  async subscribers(
    @CurrentUser() admin: AuthenticatedUser,
    @Param() { topic }: TopicParams,
    @Query() query: PageQuery,
  ): Promise<{ items: string[]; nextCursor: string | null }> {
    const tenantId = adminTenant(admin, query.tenantId);
    const items = await this.topics.subscribers(tenantId, topic, query.cursor, query.limit);
    return { items, nextCursor: items.length === query.limit ? items[items.length - 1] : null };
  }

  @Put(':topic/subscribers/:userId')
  @HttpCode(HttpStatus.NO_CONTENT)
  async subscribe(
    @CurrentUser() admin: AuthenticatedUser,
    @Param() { topic, userId }: SubscriberParams,
    @Query() query: TenantQuery,
  ): Promise<void> {
    await this.topics.subscribe({ userId, tenantId: adminTenant(admin, query.tenantId) }, topic);
  }

  @Delete(':topic/subscribers/:userId')
  @HttpCode(HttpStatus.NO_CONTENT)
  async unsubscribe(
    @CurrentUser() admin: AuthenticatedUser,
    @Param() { topic, userId }: SubscriberParams,
    @Query() query: TenantQuery,
  ): Promise<void> {
    await this.topics.unsubscribe({ userId, tenantId: adminTenant(admin, query.tenantId) }, topic);
  }
}
