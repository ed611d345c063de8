import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { DemoController } from './demo.controller';
import { DevTokensController } from './dev-tokens.controller';

/** The demo inbox at GET / and development sign-in; its assets are served by serveDemoAssets. */
@Module({ imports: [AuthModule], controllers: [DemoController, DevTokensController] })
export class DemoModule {}
