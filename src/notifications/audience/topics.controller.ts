import { Controller, Delete, Get, HttpCode, HttpStatus, Param, Put, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { AuthenticatedUser } from '../../auth/authenticated-user';
import { CurrentUser } from '../../auth/current-user.decorator';
import { ApiErrors } from '../../openapi/api-errors';
import { BEARER } from '../../openapi/openapi';
import { ListTopicsQuery } from './dto/list-topics.query';
import { TopicParams } from './dto/topic.params';
import { TopicsResponse } from '../dto/responses';
import { Topics } from './topics';

/**
 * The caller's own topic subscriptions; subscribing and unsubscribing are idempotent. A user holds
 * at most TOPICS_MAX_PER_USER: a new topic past it is refused with 409.
 */
@ApiTags('topics')
@ApiBearerAuth(BEARER)
@Controller('topics')
export class TopicsController {
  constructor(private readonly topics: Topics) {}

  @Get()
  @ApiOperation({ summary: 'List the topics the caller is subscribed to, a page at a time' })
  @ApiOkResponse({ type: TopicsResponse })
  @ApiErrors(400, 401, 429)
  list(
    @CurrentUser() user: AuthenticatedUser,
    @Query() query: ListTopicsQuery,
  ): Promise<TopicsResponse> {
    return this.topics.page(user, query.cursor, query.limit);
  }

  @Put(':topic')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Subscribe to a topic (idempotent)' })
  @ApiNoContentResponse({ description: 'Subscribed, now or before' })
  @ApiErrors(400, 401, 409, 429)
  async subscribe(
    @CurrentUser() user: AuthenticatedUser,
    @Param() { topic }: TopicParams,
  ): Promise<void> {
    await this.topics.subscribe(user, topic);
  }

  @Delete(':topic')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Unsubscribe from a topic (idempotent)' })
  @ApiNoContentResponse({ description: 'Not subscribed, now or before' })
  @ApiErrors(400, 401, 429)
  async unsubscribe(
    @CurrentUser() user: AuthenticatedUser,
    @Param() { topic }: TopicParams,
  ): Promise<void> {
    await this.topics.unsubscribe(user, topic);
  }
}
