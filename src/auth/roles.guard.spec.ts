import { ExecutionContext, ForbiddenException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Roles } from './roles.decorator';
import { RolesGuard } from './roles.guard';

class AdminController {
  @Roles('admin')
  stats(): void {}

  open(): void {}
}

function contextFor(handler: () => void, roles: string[]): ExecutionContext {
  const request = { user: { userId: 'u', tenantId: null, roles, expiresAt: new Date() } };
  return {
    getType: () => 'http',
    getHandler: () => handler,
    getClass: () => AdminController,
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
}

describe('RolesGuard', () => {
  const guard = new RolesGuard(new Reflector());
  const { stats, open } = AdminController.prototype;

  it('lets a caller with the role through', () => {
    expect(guard.canActivate(contextFor(stats, ['admin']))).toBe(true);
  });

  it('answers 403 naming the missing role', () => {
    expect(() => guard.canActivate(contextFor(stats, ['user']))).toThrow(
      new ForbiddenException('Requires role admin'),
    );
  });

  it('leaves routes without @Roles alone', () => {
    expect(guard.canActivate(contextFor(open, []))).toBe(true);
  });
});
