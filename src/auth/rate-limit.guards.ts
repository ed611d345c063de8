import { ExecutionContext, Injectable } from '@nestjs/common';
import {
  ThrottlerGuard,
  ThrottlerLimitDetail,
  ThrottlerModule,
  ThrottlerOptions,
} from '@nestjs/throttler';
import { HeraldConfig } from '../config/herald-config';
import { CounterThrottlerStorage } from './counter-throttler-storage';
import type { AuthenticatedRequest } from './current-user.decorator';

/** Headers a browser on another origin may read (see CORS in app.setup.ts). */
export const RATE_LIMIT_HEADERS = [
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'Retry-After',
];

/** The per-address limit; the per-user one is the throttler's `default`. */
const PER_IP = 'ip';
const MINUTE_MS = 60_000;

/** Both limits, per minute, counted in this instance's memory (CounterThrottlerStorage). */
export const RateLimits = ThrottlerModule.forRootAsync({
  inject: [HeraldConfig],
  useFactory: (config: HeraldConfig) => ({
    throttlers: [
      { name: PER_IP, ttl: MINUTE_MS, limit: config.http.rateLimit.perIp },
      { ttl: MINUTE_MS, limit: config.http.rateLimit.perUser },
    ],
    storage: new CounterThrottlerStorage(),
  }),
});

/**
 * ThrottlerGuard with `RateLimit-*` headers (the IETF draft's names) and one of the two limits.
 * Message handlers are not HTTP and pass through.
 */
abstract class RateLimitGuard extends ThrottlerGuard {
  protected override headerPrefix = 'RateLimit';

  protected abstract uses(throttler: ThrottlerOptions): boolean;

  override async onModuleInit(): Promise<void> {
    await super.onModuleInit();
    this.throttlers = this.throttlers.filter((throttler) => this.uses(throttler));
  }

  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    return Promise.resolve(context.getType() !== 'http');
  }

  /** One budget per address or user across every route (the default key is per route). */
  protected override generateKey(_context: ExecutionContext, tracker: string, name: string) {
    return `${name}:${tracker}`;
  }

  /** The limit's name stays out of the header names: `RateLimit-Remaining`, not `…-ip`. */
  protected override setResponseHeader(
    res: Record<string, unknown>,
    name: string,
    value: string | number,
  ): void {
    super.setResponseHeader(res, name.replace(/-ip$/, ''), value);
  }

  protected override getErrorMessage(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<string> {
    return Promise.resolve(
      `Too many requests: at most ${detail.limit} a minute ${this.scope}; ` +
        `retry after ${detail.timeToBlockExpire} s`,
    );
  }

  protected abstract readonly scope: string;
}

/**
 * Every request, per client address (`TRUST_PROXY` makes it the real one behind a load
 * balancer). Registered before AuthGuard, so floods of bad tokens are limited too.
 */
@Injectable()
export class IpRateLimitGuard extends RateLimitGuard {
  protected readonly scope = 'from one address';

  protected uses(throttler: ThrottlerOptions): boolean {
    return throttler.name === PER_IP;
  }
}

/** Authenticated requests, per user (of a tenant). Registered after AuthGuard. */
@Injectable()
export class UserRateLimitGuard extends RateLimitGuard {
  protected readonly scope = 'per user';

  protected uses(throttler: ThrottlerOptions): boolean {
    return throttler.name !== PER_IP;
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    if (await super.shouldSkip(context)) return true;
    return !context.switchToHttp().getRequest<AuthenticatedRequest>().user; // public routes
  }

  protected override getTracker(request: AuthenticatedRequest): Promise<string> {
    const user = request.user!;
    return Promise.resolve(`${user.tenantId ?? ''}\u0000${user.userId}`);
  }
}
