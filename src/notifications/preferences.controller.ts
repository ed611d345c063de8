import { Body, Controller, Get, Put } from '@nestjs/common';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { CurrentUser } from '../auth/current-user.decorator';
import { PreferencesBody } from './dto/preferences.body';
import type { Preferences } from './preferences.repository';
import { NotificationsService } from './notifications.service';

/** The caller's delivery preferences: muted types are not stored for them, `critical` always is. */
@Controller('preferences')
export class PreferencesController {
  constructor(private readonly notifications: NotificationsService) {}

  @Get()
  get(@CurrentUser() user: AuthenticatedUser): Promise<Preferences> {
    return this.notifications.getPreferences(user);
  }

  @Put()
  set(@CurrentUser() user: AuthenticatedUser, @Body() body: PreferencesBody): Promise<Preferences> {
    return this.notifications.setPreferences(user, { mutedTypes: body.mutedTypes });
  }
}
