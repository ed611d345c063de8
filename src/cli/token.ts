import '../runtime'; // first: refuses an unsupported Node before NestJS loads
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { parseArgs } from 'node:util';
import { TokenSigner } from '../auth/token-signer';
import { ConfigModule } from '../config/config.module';
import { HeraldConfig } from '../config/herald-config';

const USAGE = `Prints a signed user token (HS256, AUTH_JWT_SECRET or the development secret).

Usage: npm run -s token -- <userId> [--admin] [--ttl 1h] [--tenant <id>]

Options:
  --admin          add the "admin" role (the admin API)
  --ttl <time>     lifetime: 90s, 15m, 1h, 7d or seconds (default: 1h)
  --tenant <id>    the tenant claim
  -h, --help       this text

Example: curl -H "Authorization: Bearer $(npm run -s token -- alice)" localhost:3000/api/v1/notifications`;

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "90s", "15m", "1h", "7d" or plain seconds; null when it is none of those. */
export function parseTtl(text: string): number | null {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!match) return null;
  const seconds = Number(match[1]) * UNITS[match[2] || 's'];
  return seconds > 0 ? seconds : null;
}

@Module({ imports: [ConfigModule], providers: [TokenSigner] })
class TokenModule {}

function fail(message: string): never {
  process.stderr.write(`token: ${message}\n\n${USAGE}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        admin: { type: 'boolean', default: false },
        ttl: { type: 'string', default: '1h' },
        tenant: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    fail((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (positionals.length !== 1) fail('give exactly one user id');
  const ttlSeconds = parseTtl(values.ttl);
  if (ttlSeconds === null) fail(`--ttl ${JSON.stringify(values.ttl)} is not a duration like 15m`);

  const app = await NestFactory.createApplicationContext(TokenModule, { logger: ['error'] });
  try {
    if (app.get(HeraldConfig).auth.usingDevelopmentSecret) {
      process.stderr.write('token: signed with the DEVELOPMENT secret (no AUTH_* configured)\n');
    }
    const token = await app.get(TokenSigner).sign({
      userId: positionals[0],
      tenantId: values.tenant,
      roles: values.admin ? ['admin'] : [],
      ttlSeconds,
    });
    process.stdout.write(`${token}\n`);
  } finally {
    await app.close();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`token: ${(error as Error).message ?? String(error)}\n`);
    process.exit(1);
  });
}
