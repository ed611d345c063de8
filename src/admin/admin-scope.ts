import type { AuthenticatedUser } from '../auth/authenticated-user';
import { ForbiddenError } from '../common/domain-error';

/**
 * The tenant an admin acts for. An admin whose token has a `tenant` claim acts for that tenant
 * only; an admin without one (a platform operator) acts for the tenant the request names, or for
 * users without a tenant when it names none.
 */
export function adminTenant(
  admin: AuthenticatedUser,
  requested: string | undefined,
): string | null {
  if (admin.tenantId === null) return requested || null;
  if (requested && requested !== admin.tenantId) {
    throw new ForbiddenError(
      `an admin of tenant ${JSON.stringify(admin.tenantId)} cannot act for another tenant`,
    );
  }
  return admin.tenantId;
}

/**
 * Dead letters hold messages of every tenant: only a platform admin (no `tenant` claim) may see
 * or move them.
 */
export function requirePlatformAdmin(admin: AuthenticatedUser): void {
  if (admin.tenantId !== null) {
    throw new ForbiddenError('dead letters are for platform admins (a token without a tenant)');
  }
}
