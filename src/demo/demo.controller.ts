import { readFileSync } from 'node:fs';
import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../auth/public.decorator';
import { INBOX_PAGE } from './demo-assets';

/** GET /: the demo inbox page (its scripts come from /demo/ and /client/). */
@ApiExcludeController()
@Public()
@Controller()
export class DemoController {
  private readonly page = readFileSync(INBOX_PAGE, 'utf8');

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-cache')
  inbox(): string {
    return this.page;
  }
}
