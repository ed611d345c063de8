import {
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  NotFoundException,
  Param,
  Query,
} from '@nestjs/common';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { Roles } from '../auth/roles.decorator';
import { ScheduledDelivery } from '../notifications/scheduled-delivery';
import type { ScheduledNotification } from '../notifications/scheduled.repository';
import { adminTenant } from './admin-scope';
import { PageQuery, TenantQuery } from './dto/admin.dto';

/** Notifications held until their `deliverAt`: list them, cancel one by its id. */
@Controller('admin/scheduled')
@Roles('admin')
export class AdminScheduledController {
  constructor(private readonly scheduled: ScheduledDelivery) {}

  /** Soonest first. */
  @Get()
  async list(
    @CurrentUser() admin: AuthenticatedUser,
    @Query() query: PageQuery,
  ): Promise<{ items: ScheduledNotification[] }> {
    const tenantId = adminTenant(admin, query.tenantId);
    return { items: await this.scheduled.list(tenantId, query.limit) };
  }

  /** 404 when nothing is held under the id: unknown, delivered already, or cancelled. */
  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
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
