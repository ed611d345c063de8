import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';

/** The repository root, from src/ (tests) as from dist/ (built). */
const ROOT = join(__dirname, '..', '..');

export const INBOX_PAGE = join(ROOT, 'public', 'index.html');

/**
 * The demo inbox's scripts and styles (/demo/) and the browser client it loads (/client/, built
 * by `npm run build`). Under prefixes of their own, so no API request looks for a file.
 */
export function serveDemoAssets(app: NestExpressApplication): void {
  app.useStaticAssets(join(ROOT, 'public'), { prefix: '/demo/', index: false });
  app.useStaticAssets(join(ROOT, 'client', 'dist', 'client', 'src'), { prefix: '/client/' });
}
