import { Body, Controller, Get, NotFoundException, Post } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, Length, Matches } from 'class-validator';
import { Public } from '../auth/public.decorator';
import { TokenSigner } from '../auth/token-signer';
import { HeraldConfig } from '../config/herald-config';
import { ApiErrors } from '../openapi/api-errors';

/** Development tokens last as long as a working day. */
const TTL_SECONDS = 8 * 60 * 60;
const USER_ID = /^[\x21-\x7e]+$/;

class DevTokenRequest {
  @ApiProperty({ example: 'u1', description: 'Any user id (printable ASCII, no spaces)' })
  @IsString()
  @Length(1, 200)
  @Matches(USER_ID, { message: 'userId must be printable ASCII without spaces' })
  userId: string;

  @ApiPropertyOptional({ example: 'acme' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  @Matches(USER_ID, { message: 'tenantId must be printable ASCII without spaces' })
  tenantId?: string;

  @ApiPropertyOptional({ description: 'Adds the admin role' })
  @IsOptional()
  @IsBoolean()
  admin?: boolean;
}

class DevTokenResponse {
  @ApiProperty({ description: 'A user token signed with the development secret (8 h)' })
  token: string;
}

class DevInfoResponse {
  @ApiProperty({ example: true })
  developmentAuth: boolean;
}

/**
 * Sign in as anyone, for the demo inbox and local trials: only while Herald runs on the
 * development secret (no AUTH_* set, never in production). Otherwise these routes are 404.
 */
@ApiTags('development')
@Public()
@Controller('dev')
export class DevTokensController {
  constructor(
    private readonly config: HeraldConfig,
    private readonly signer: TokenSigner,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Whether development sign-in is on (404 when it is not)' })
  @ApiOkResponse({ type: DevInfoResponse })
  @ApiErrors(404, 429)
  info(): DevInfoResponse {
    this.requireDevelopmentAuth();
    return { developmentAuth: true };
  }

  @Post('tokens')
  @ApiOperation({ summary: 'A token for any user id (development secret only)' })
  @ApiCreatedResponse({ type: DevTokenResponse })
  @ApiErrors(400, 404, 429)
  async issue(@Body() request: DevTokenRequest): Promise<DevTokenResponse> {
    this.requireDevelopmentAuth();
    const token = await this.signer.sign({
      userId: request.userId,
      tenantId: request.tenantId,
      roles: request.admin ? ['admin'] : [],
      ttlSeconds: TTL_SECONDS,
    });
    return { token };
  }

  private requireDevelopmentAuth(): void {
    if (!this.config.auth.usingDevelopmentSecret) throw new NotFoundException();
  }
}
