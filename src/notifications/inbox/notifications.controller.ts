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
} from '../dto/responses';
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
  @ApiOperation({ summary: 'Count unread notifications (not archived, not expired)' })
  @ApiOkResponse({ type: UnreadCountResponse })
  @ApiErrors(401, 429)
  async unreadCount(@CurrentUser() user: AuthenticatedUser): Promise<UnreadCountResponse> {
    return { count: await this.notifications.unreadCount(user) };
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
  @ApiOperation({ summary: 'Mark a notification read or unread, archived or not' })
  @ApiParam({ name: 'id', description: 'A notification id', example: '1042' })
  @ApiOkResponse({ type: NotificationResponse, description: 'The notification after the change' })
  @ApiErrors(400, 401, 404, 413, 429)
  update(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id') id: string,
    @Body() body: UpdateNotificationBody,
  ): Promise<NotificationResponse> {
    return this.notifications.changeState(user, id, body);
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
