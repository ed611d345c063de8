import { Delete, Get, HttpCode, HttpStatus, Param, Put, Query } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { TopicParams } from '../notifications/audience/dto/topic.params';
import { Topics } from '../notifications/audience/topics';
import { ApiErrors } from '../openapi/api-errors';
import { AdminController } from './admin-controller.decorator';
import { adminTenant } from './admin-scope';
import { SubscribersPageResponse } from './dto/admin.responses';
import { PageQuery, SubscriberParams, TenantQuery } from './dto/admin.dto';

/** Anyone's topic subscriptions, for admins; idempotent like the user's own routes. */
@AdminController('admin/topics')
@ApiErrors(400)
export class AdminTopicsController {
  constructor(private readonly topics: Topics) {}

  /** A page of subscribers by user id; `nextCursor` continues after the last. */
  @Get(':topic/subscribers')
  @ApiOperation({ summary: 'Subscribers of a topic, by user id' })
  @ApiOkResponse({ type: SubscribersPageResponse })
  async subscribers(
    @CurrentUser() admin: AuthenticatedUser,
    @Param() { topic }: TopicParams,
    @Query() query: PageQuery,
  ): Promise<SubscribersPageResponse> {
    const tenantId = adminTenant(admin, query.tenantId);
    const items = await this.topics.subscribers(tenantId, topic, query.cursor, query.limit);
    return { items, nextCursor: items.length === query.limit ? items[items.length - 1] : null };
  }

  @Put(':topic/subscribers/:userId')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    summary: 'Subscribe a user to a topic (idempotent; refused past TOPICS_MAX_PER_USER)',
  })
  @ApiNoContentResponse()
  @ApiErrors(409)
  async subscribe(
    @CurrentUser() admin: AuthenticatedUser,
    @Param() { topic, userId }: SubscriberParams,
    @Query() query: TenantQuery,
  ): Promise<void> {
    await this.topics.subscribe({ userId, tenantId: adminTenant(admin, query.tenantId) }, topic);
  }

  @Delete(':topic/subscribers/:userId')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Unsubscribe a user from a topic (idempotent)' })
  @ApiNoContentResponse()
  async unsubscribe(
    @CurrentUser() admin: AuthenticatedUser,
    @Param() { topic, userId }: SubscriberParams,
    @Query() query: TenantQuery,
  ): Promise<void> {
    await this.topics.unsubscribe({ userId, tenantId: adminTenant(admin, query.tenantId) }, topic);
  }
}
