import { SetMetadata } from '@nestjs/common';

export const ROLES = 'herald:roles';

/** The caller's token must carry every one of these roles (`roles` claim), else 403. */
export const Roles = (...roles: string[]) => SetMetadata(ROLES, roles);
