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
  const item = (
    id: string,
    readAt: string | null,
    archivedAt: string | null = null,
    more: Partial<HeraldNotification> = {},
  ) =>
    ({
      id,
      readAt,
      archivedAt,
      seenAt: null,
      snoozedUntil: null,
      type: 't',
      category: null,
      createdAt: '2026-12-01T09:00:00.000Z',
      ...more,
    }) as HeraldNotification;
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

describe('coveredBy (v1.1 filters)', () => {
  const base = {
    id: '5',
    readAt: null,
    archivedAt: null,
    seenAt: null,
    snoozedUntil: null,
    type: 'comment',
    category: 'social',
    createdAt: '2026-12-01T09:00:00.000Z',
  } as HeraldNotification;
  const change = (filter: object) => ({
    upTo: '10',
    filter,
    set: { read: true },
    at: '2026-12-01T10:00:00.000Z',
  });
  const now = Date.parse('2026-12-01T10:00:00.000Z');
  const asleep = { ...base, snoozedUntil: '2026-12-01T11:00:00.000Z' };
  const archived = { ...base, archivedAt: '2026-12-01T09:30:00.000Z' };

  it.each([
    ['type', { type: 'comment' }, base, true],
    ['another type', { type: 'like' }, base, false],
    ['category', { category: 'social' }, base, true],
    ['another category', { category: 'ops' }, base, false],
    ['created before', { before: '2026-12-01T09:30:00.000Z' }, base, true],
    ['created at or after', { before: '2026-12-01T09:00:00.000Z' }, base, false],
    ['named', { ids: ['5'] }, base, true],
    ['not named', { ids: ['6'] }, base, false],
    ['named, archived', { ids: ['5'] }, archived, true],
    ['named, snoozed', { ids: ['5'] }, asleep, true],
    ['all, snoozed', {}, asleep, false],
    ['snoozed', { status: 'snoozed' }, asleep, true],
    ['snoozed, awake', { status: 'snoozed' }, base, false],
    ['unseen', { status: 'unseen' }, base, true],
    ['unseen, read', { status: 'unseen' }, { ...base, readAt: '2026-12-01T09:10:00.000Z' }, false],
    ['unseen, seen', { status: 'unseen' }, { ...base, seenAt: '2026-12-01T09:10:00.000Z' }, false],
  ])('%s', (_name, filter, notification, expected) => {
    expect(coveredBy(notification, change(filter) as never, now)).toBe(expected);
  });
});
