import { Controller, Delete, Get, HttpCode, HttpStatus, Param, Put } from '@nestjs/common';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { TopicParams } from './dto/topic.params';
import { TopicsService } from './topics.service';

/** The caller's own topic subscriptions; subscribing and unsubscribing are idempotent. */
@Controller('topics')
export class TopicsController {
  constructor(private readonly topics: TopicsService) {}

  @Get()
  async list(@CurrentUser() user: AuthenticatedUser): Promise<{ topics: string[] }> {
    return { topics: await this.topics.topicsOf(user) };
  }

  @Put(':topic')
  @HttpCode(HttpStatus.NO_CONTENT)
  async subscribe(
    @CurrentUser() user: AuthenticatedUser,
    @Param() { topic }: TopicParams,
  ): Promise<void> {
    await this.topics.subscribe(user, topic);
  }

  @Delete(':topic')
  @HttpCode(HttpStatus.NO_CONTENT)
  async unsubscribe(
    @CurrentUser() user: AuthenticatedUser,
    @Param() { topic }: TopicParams,
  ): Promise<void> {
    await this.topics.unsubscribe(user, topic);
  }
}
