import { coveredBy, HeraldNotification, reconnectDelay } from './herald-client.js';

describe('reconnectDelay', () => {
  it('doubles from the first delay up to the longest, with ±50 % jitter', () => {
    const middle = () => 0.5;
    expect(
      [0, 1, 2, 3, 10, 100].map((attempt) => reconnectDelay(attempt, 500, 30_000, middle)),
    ).toEqual([500, 1000, 2000, 4000, 30_000, 30_000]);
    expect(reconnectDelay(2, 500, 30_000, () => 0)).toBe(1000);
    expect(reconnectDelay(2, 500, 30_000, () => 0.999)).toBe(2998);
  });
});

describe('coveredBy', () => {
  const item = (id: string, readAt: string | null, archivedAt: string | null = null) =>
    ({ id, readAt, archivedAt }) as HeraldNotification;
  const readAll = {
    upTo: '100',
    filter: { status: 'unread' as const },
    set: { read: true },
    at: '2026-12-01T10:00:00.000Z',
  };

  it('covers the unread, not archived notifications at or below upTo', () => {
    expect(coveredBy(item('99', null), readAll)).toBe(true);
    expect(coveredBy(item('100', null), readAll)).toBe(true);
    // Ids compare as numbers: "101" is above "100", "99" below it.
    expect(coveredBy(item('101', null), readAll)).toBe(false);
    expect(coveredBy(item('1000', null), readAll)).toBe(false);
    expect(coveredBy(item('5', '2026-12-01T09:00:00.000Z'), readAll)).toBe(false);
    expect(coveredBy(item('5', null, '2026-12-01T09:00:00.000Z'), readAll)).toBe(false);
  });
});
