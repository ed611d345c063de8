import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'herald:public';

/** Exempts a route or controller from the token check (health, metrics, docs, the demo page). */
export const Public = () => SetMetadata(IS_PUBLIC, true);
