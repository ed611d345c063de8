import { Body, Delete, Get, HttpCode, HttpStatus, Param, Put, Query } from '@nestjs/common';
import { ApiExtraModels, ApiNoContentResponse, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { Templates } from '../notifications/templates/templates';
import { ApiErrors } from '../openapi/api-errors';
import { AdminController } from './admin-controller.decorator';
import { adminTenant } from './admin-scope';
import { TenantQuery } from './dto/admin.dto';
import {
  TemplateBody,
  TemplateParams,
  TemplateResponse,
  TemplatesResponse,
  TemplateStringsBody,
} from './dto/template.dto';

/** Templates (CONTRACT.md v1.1): a tenant admin owns their tenant's. */
@AdminController('admin/templates')
@ApiExtraModels(TemplateStringsBody)
@ApiErrors(400)
export class AdminTemplatesController {
  constructor(private readonly templates: Templates) {}

  @Get()
  @ApiOperation({ summary: "The tenant's templates, by name" })
  @ApiOkResponse({ type: TemplatesResponse })
  async list(
    @CurrentUser() admin: AuthenticatedUser,
    @Query() query: TenantQuery,
  ): Promise<TemplatesResponse> {
    return { items: await this.templates.list(adminTenant(admin, query.tenantId)) };
  }

  @Get(':name')
  @ApiOperation({ summary: 'One template' })
  @ApiOkResponse({ type: TemplateResponse })
  @ApiErrors(404)
  get(
    @CurrentUser() admin: AuthenticatedUser,
    @Param() { name }: TemplateParams,
    @Query() query: TenantQuery,
  ): Promise<TemplateResponse> {
    return this.templates.get({ tenantId: adminTenant(admin, query.tenantId), name });
  }

  /** 400 names each problem: a string that is not ICU MessageFormat by locale and field, a tag. */
  @Put(':name')
  @ApiOperation({
    summary: 'Create or replace a template',
    description:
      'Every string is ICU MessageFormat, with the message’s `data` fields as arguments and ' +
      '`{count}` and `{actors}` for groups. Messages already stored keep the text they were ' +
      'rendered with.',
  })
  @ApiOkResponse({ type: TemplateResponse })
  put(
    @CurrentUser() admin: AuthenticatedUser,
    @Param() { name }: TemplateParams,
    @Query() query: TenantQuery,
    @Body() body: TemplateBody,
  ): Promise<TemplateResponse> {
    return this.templates.put({ tenantId: adminTenant(admin, query.tenantId), name }, body);
  }

  @Delete(':name')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Delete a template (messages naming it are dead-lettered after)' })
  @ApiNoContentResponse()
  @ApiErrors(404)
  async delete(
    @CurrentUser() admin: AuthenticatedUser,
    @Param() { name }: TemplateParams,
    @Query() query: TenantQuery,
  ): Promise<void> {
    await this.templates.delete({ tenantId: adminTenant(admin, query.tenantId), name });
  }
}
