import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { canonicalLocale } from '../../common/locale';
import { canonicalTimeZone } from '../../common/time-zone';
import type { AuthenticatedUser } from '../../auth/authenticated-user';
import { CurrentUser } from '../../auth/current-user.decorator';
import { ApiErrors } from '../../openapi/api-errors';
import { BEARER } from '../../openapi/openapi';
import { PreferencesBody } from './dto/preferences.body';
import { PreferencesResponse } from '../dto/responses';
import { Inbox } from '../inbox/inbox';

/** The caller's delivery preferences: muted types are not stored for them, `critical` always is. */
@ApiTags('preferences')
@ApiBearerAuth(BEARER)
@Controller('preferences')
export class PreferencesController {
  constructor(private readonly notifications: Inbox) {}

  @Get()
  @ApiOperation({ summary: 'Get the muted types' })
  @ApiOkResponse({ type: PreferencesResponse })
  @ApiErrors(401, 429)
  get(@CurrentUser() user: AuthenticatedUser): Promise<PreferencesResponse> {
    return this.notifications.getPreferences(user);
  }

  @Put()
  @ApiOperation({
    summary: 'Replace the preferences: muted types and categories, locale, time zone',
    description:
      'A field left out goes back to its default. `critical` notifications still arrive.',
  })
  @ApiOkResponse({ type: PreferencesResponse, description: 'The preferences as stored' })
  @ApiErrors(400, 401, 413, 429)
  set(
    @CurrentUser() user: AuthenticatedUser,
    @Body() body: PreferencesBody,
  ): Promise<PreferencesResponse> {
    return this.notifications.setPreferences(user, {
      mutedTypes: body.mutedTypes ?? [],
      mutedCategories: body.mutedCategories ?? [],
      locale: canonicalLocale(body.locale),
      timeZone: canonicalTimeZone(body.timeZone),
    });
  }
}
