import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentUser } from '../../auth/current-user.decorator';
import type { AuthenticatedUser } from '../../auth/authenticated-user';
import { ApiErrors } from '../../openapi/api-errors';
import { BEARER } from '../../openapi/openapi';
import { ListNotificationsQuery } from './dto/list-notifications.query';
import {
  InboxPageResponse,
  NotificationResponse,
  ReadAllResponse,
  UnreadCountResponse,
  UpdatedResponse,
} from '../dto/responses';
import { BulkBody } from './dto/bulk.body';
import { SeenBody } from './dto/seen.body';
import { UpdateNotificationBody } from './dto/update-notification.body';
import { Inbox } from './inbox';

/** The signed-in user's inbox (CONTRACT.md "HTTP", user part). */
@ApiTags('inbox')
@ApiBearerAuth(BEARER)
@Controller('notifications')
export class NotificationsController {
  constructor(private readonly notifications: Inbox) {}

  @Get()
  @ApiOperation({ summary: 'List the inbox, newest first, a page at a time' })
  @ApiOkResponse({ type: InboxPageResponse })
  @ApiErrors(400, 401, 429)
  list(
    @CurrentUser() user: AuthenticatedUser,
    @Query() query: ListNotificationsQuery,
  ): Promise<InboxPageResponse> {
    return this.notifications.list(user, query);
  }

  @Get('unread-count')
  @ApiOperation({
    summary: 'Count unread and unseen notifications (not archived, not snoozed, not expired)',
  })
  @ApiOkResponse({ type: UnreadCountResponse })
  @ApiErrors(401, 429)
  unreadCount(@CurrentUser() user: AuthenticatedUser): Promise<UnreadCountResponse> {
    return this.notifications.counts(user);
  }

  @Post('seen')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Mark notifications seen (the list was shown), or all of them; they stay unread',
  })
  @ApiOkResponse({ type: UpdatedResponse })
  @ApiErrors(400, 401, 413, 429)
  async seen(
    @CurrentUser() user: AuthenticatedUser,
    @Body() body: SeenBody,
  ): Promise<UpdatedResponse> {
    return { updated: await this.notifications.markSeen(user, body.ids) };
  }

  @Post('bulk')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Change every notification that matches a filter',
    description: 'One `notification.bulk-updated` event goes to every open stream of the user.',
  })
  @ApiOkResponse({ type: UpdatedResponse })
  @ApiErrors(400, 401, 413, 429)
  async bulk(
    @CurrentUser() user: AuthenticatedUser,
    @Body() body: BulkBody,
  ): Promise<UpdatedResponse> {
    const { before, ...filter } = body.filter;
    return {
      updated: await this.notifications.bulk(
        user,
        { ...filter, ...(before !== undefined && { before: new Date(before) }) },
        body.set,
      ),
    };
  }

  @Post(':id/actions/:actionId')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: "Take one of the notification's actions: recorded, and it is read" })
  @ApiParam({ name: 'id', description: 'A notification id', example: '1042' })
  @ApiParam({ name: 'actionId', description: 'One of its actions', example: 'track' })
  @ApiOkResponse({ type: NotificationResponse, description: 'The notification after the change' })
  @ApiErrors(401, 404, 429)
  act(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id') id: string,
    @Param('actionId') actionId: string,
  ): Promise<NotificationResponse> {
    return this.notifications.interact(user, id, actionId);
  }

  @Post('read-all')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Mark every unread notification read (archived ones stay as they are)' })
  @ApiOkResponse({ type: ReadAllResponse })
  @ApiErrors(401, 429)
  async readAll(@CurrentUser() user: AuthenticatedUser): Promise<ReadAllResponse> {
    return { updated: await this.notifications.markAllRead(user) };
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Mark a notification read, seen, archived (or not), or snooze it' })
  @ApiParam({ name: 'id', description: 'A notification id', example: '1042' })
  @ApiOkResponse({ type: NotificationResponse, description: 'The notification after the change' })
  @ApiErrors(400, 401, 404, 413, 429)
  update(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id') id: string,
    @Body() body: UpdateNotificationBody,
  ): Promise<NotificationResponse> {
    const { snoozedUntil, ...flags } = body;
    return this.notifications.changeState(user, id, {
      ...flags,
      ...(snoozedUntil !== undefined && {
        snoozedUntil: snoozedUntil === null ? null : new Date(snoozedUntil),
      }),
    });
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Delete a notification' })
  @ApiParam({ name: 'id', description: 'A notification id', example: '1042' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(401, 404, 429)
  delete(@CurrentUser() user: AuthenticatedUser, @Param('id') id: string): Promise<void> {
    return this.notifications.delete(user, id);
  }
}
