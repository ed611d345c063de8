import { CounterThrottlerStorage } from './counter-throttler-storage';

const MINUTE = 60_000;

describe('CounterThrottlerStorage', () => {
  afterEach(() => jest.useRealTimers());

  it('blocks past the limit until the block ends, then counts again', async () => {
    jest.useFakeTimers({ now: 0 });
    const storage = new CounterThrottlerStorage();
    const hit = () => storage.increment('ip:1', MINUTE, 2, MINUTE, 'ip');
    expect((await hit()).isBlocked).toBe(false);
    expect((await hit()).isBlocked).toBe(false);
    const third = await hit();
    expect(third).toMatchObject({ isBlocked: true, totalHits: 3, timeToBlockExpire: 60 });
    jest.setSystemTime(30_000);
    expect((await hit()).isBlocked).toBe(true); // still blocked, and not counted
    jest.setSystemTime(MINUTE + 1);
    // The previous window's 3 hits weigh almost fully: the limit still holds.
    expect((await hit()).isBlocked).toBe(true);
    jest.setSystemTime(3 * MINUTE);
    expect(await hit()).toMatchObject({ isBlocked: false, totalHits: 1 });
  });

  it('keeps keys and limits apart', async () => {
    const storage = new CounterThrottlerStorage();
    await storage.increment('ip:1', MINUTE, 1, MINUTE, 'ip');
    expect((await storage.increment('ip:2', MINUTE, 1, MINUTE, 'ip')).isBlocked).toBe(false);
    expect((await storage.increment('ip:1', MINUTE, 1, MINUTE, 'default')).isBlocked).toBe(false);
    expect((await storage.increment('ip:1', MINUTE, 1, MINUTE, 'ip')).isBlocked).toBe(true);
  });
});
