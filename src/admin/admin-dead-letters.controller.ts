import { Delete, Get, HttpCode, HttpStatus, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { DeadLetters } from '../messaging/dead-letters';
import { ApiErrors } from '../openapi/api-errors';
import { AdminController } from './admin-controller.decorator';
import { requirePlatformAdmin } from './admin-scope';
import { DeadLetterQuery } from './dto/admin.dto';
import { DeadLettersPageResponse, PurgeResponse, ReplayResponse } from './dto/admin.responses';

/** The dead-letter queue (CONTRACT.md `notifications.dead`), for platform admins. */
@AdminController('admin/dead-letters')
@ApiErrors(503)
export class AdminDeadLettersController {
  constructor(private readonly deadLetters: DeadLetters) {}

  /** The oldest `limit`, with their reasons; looking does not remove them. */
  @Get()
  @ApiOperation({ summary: 'The oldest dead letters with their reasons (not removed)' })
  @ApiOkResponse({ type: DeadLettersPageResponse })
  @ApiErrors(400)
  async list(
    @CurrentUser() admin: AuthenticatedUser,
    @Query() { limit }: DeadLetterQuery,
  ): Promise<DeadLettersPageResponse> {
    requirePlatformAdmin(admin);
    const total = await this.deadLetters.depth();
    return { items: await this.deadLetters.list(limit), total };
  }

  /** Sends up to `limit` back to where they were published; what fails again returns here. */
  @Post('replay')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Publish dead letters back to where they came from' })
  @ApiOkResponse({ type: ReplayResponse })
  @ApiErrors(400)
  replay(
    @CurrentUser() admin: AuthenticatedUser,
    @Query() { limit }: DeadLetterQuery,
  ): Promise<ReplayResponse> {
    requirePlatformAdmin(admin);
    return this.deadLetters.replay(limit);
  }

  @Delete()
  @ApiOperation({ summary: 'Delete every dead letter' })
  @ApiOkResponse({ type: PurgeResponse })
  async purge(@CurrentUser() admin: AuthenticatedUser): Promise<PurgeResponse> {
    requirePlatformAdmin(admin);
    return { purged: await this.deadLetters.purge() };
  }
}
