import { Delete, Get, HttpCode, HttpStatus, NotFoundException, Param, Query } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { ScheduledDelivery } from '../notifications/scheduling/scheduled-delivery';
import { ApiErrors } from '../openapi/api-errors';
import { AdminController } from './admin-controller.decorator';
import { adminTenant } from './admin-scope';
import { ScheduledListResponse } from './dto/admin.responses';
import { PageQuery, TenantQuery } from './dto/admin.dto';

/** Notifications held until their `deliverAt`: list them, cancel one by its id. */
@AdminController('admin/scheduled')
@ApiErrors(400)
export class AdminScheduledController {
  constructor(private readonly scheduled: ScheduledDelivery) {}

  /** Soonest first. */
  @Get()
  @ApiOperation({ summary: 'Notifications held until their deliverAt' })
  @ApiOkResponse({ type: ScheduledListResponse })
  async list(
    @CurrentUser() admin: AuthenticatedUser,
    @Query() query: PageQuery,
  ): Promise<ScheduledListResponse> {
    const tenantId = adminTenant(admin, query.tenantId);
    const entries = await this.scheduled.list(tenantId, query.limit);
    return { items: entries.map(({ recipientsKey: _internal, ...entry }) => entry) };
  }

  /** 404 when nothing is held under the id: unknown, delivered already, or cancelled. */
  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Cancel a scheduled notification by its id' })
  @ApiNoContentResponse()
  @ApiErrors(404)
  async cancel(
    @CurrentUser() admin: AuthenticatedUser,
    @Param('id') id: string,
    @Query() query: TenantQuery,
  ): Promise<void> {
    if (!(await this.scheduled.cancel(adminTenant(admin, query.tenantId), id))) {
      throw new NotFoundException(`Nothing scheduled under ${JSON.stringify(id.slice(0, 64))}`);
    }
  }
}
